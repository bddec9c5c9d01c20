"""A private git repository host on 127.0.0.1: ``git http-backend`` (git's smart-HTTP server) run
as CGI behind ``http.server`` over TLS with a self-signed certificate. Without the expected
``Authorization`` header it answers 401; with ``redirect_to`` it sends every request there."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    authorization: str


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (the certificate is its own authority)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _cgi_env(handler: BaseHTTPRequestHandler, root: Path, length: int) -> dict[str, str]:
    path, _, query = handler.path.partition("?")
    env = {
        "PATH": os.environ["PATH"],
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": handler.command,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(length),
        "REMOTE_ADDR": "127.0.0.1",
    }
    for header in ("Git-Protocol", "Content-Encoding"):
        if handler.headers.get(header):
            env["HTTP_" + header.upper().replace("-", "_")] = handler.headers[header]
    return env


def _same_credentials(given: str, expected: str) -> bool:
    """Whether two ``Authorization`` values match (the scheme's case does not matter)."""
    scheme, _, secret = given.partition(" ")
    wanted_scheme, _, wanted = expected.partition(" ")
    return scheme.lower() == wanted_scheme.lower() and secret == wanted


class GitHttpServer:
    """Serves the repositories under ``root`` at ``url`` to requests carrying ``authorization``."""

    def __init__(self, root: Path, authorization: str, certs: tuple[Path, Path]) -> None:
        self.root, self.authorization = root, authorization
        self.redirect_to: str | None = None
        self.seen: list[Seen] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer._answer(self)

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certs)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"https://127.0.0.1:{self.server.server_port}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        auth = h.headers.get("Authorization", "")
        self.seen.append(Seen(h.command, h.path, auth))
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        if self.redirect_to is not None:
            self._send(h, 302, {"Location": self.redirect_to + h.path.lstrip("/")}, b"")
        elif not _same_credentials(auth, self.authorization):
            self._send(h, 401, {"WWW-Authenticate": 'Basic realm="private seeds"'}, b"")
        else:
            self._backend(h, body)

    def _backend(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        env = _cgi_env(h, self.root, len(body))
        done = subprocess.run(["git", "http-backend"], input=body, capture_output=True, env=env,
                              timeout=60, check=True)  # fmt: skip
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        headers = dict(
            line.split(": ", 1) for line in head.decode("latin-1").split("\r\n") if ": " in line
        )
        status = int(headers.pop("Status", "200").split()[0])
        self._send(h, status, headers, payload)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
