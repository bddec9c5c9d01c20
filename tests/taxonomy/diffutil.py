"""Helpers of the diff tests: leaves written into real git repositories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from helpers import git

ATTRIBUTION_TEXT = (
    "Title of work: Notes\nLink to work: https://example.invalid\nRevision: 1\n"
    "License of the work: CC-BY-4.0\nCreator names: Test\n"
)


def knowledge_data(document: dict[str, Any]) -> dict[str, Any]:
    """A knowledge qna.yaml value (enough for loading; validation is not under test here)."""
    qas = [{"question": f"Question {i}?", "answer": f"Answer {i}."} for i in range(3)]
    return {
        "version": 3,
        "created_by": "test",
        "domain": "testing",
        "document_outline": "Notes used by the tests.",
        "seed_examples": [{"context": "Some context.", "questions_and_answers": qas}],
        "document": document,
    }


def write_leaf(folder: Path, data: dict[str, Any], attribution: str = ATTRIBUTION_TEXT) -> Path:
    """Write ``qna.yaml`` and ``attribution.txt`` into ``folder``; return the qna.yaml path."""
    folder.mkdir(parents=True, exist_ok=True)
    qna = folder / "qna.yaml"
    qna.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    (folder / "attribution.txt").write_text(attribution, encoding="utf-8")
    return qna


def commit_all(repo: Path, message: str = "change") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return str(git(repo, "rev-parse", "HEAD")).strip()


def pdf_bytes(text: str) -> bytes:
    """A one-page PDF showing ``text`` (Helvetica), with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 144] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
