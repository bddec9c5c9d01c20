"""Secrets and personal data in raw text: what is found, where, and what is left alone."""

from __future__ import annotations

import random

import pytest

from seedtree.validate.secrets import PHONE, placeholder_phone, scan_text


def _found(text: str) -> list[tuple[int, int, str]]:
    return [(f.line, f.column, f.rule) for f in scan_text(text, "qna.yaml")]


@pytest.mark.parametrize(
    "number", ["555-123-4567", "555.123.4567", "555 123 4567", "(555) 123-4567", "+1 555 123 4567"]
)
def test_phone_numbers_in_every_spelling(number: str) -> None:
    assert _found(f"answer: |\n  call {number} today\n") == [(2, 8, "personal-data")]


@pytest.mark.parametrize(
    "text", ["date: 2024-08-01", "isbn 978-3-16-148410-0", "v1.234.5678.9", "١٢٣ ٤٥٦ ٧٨٩٠"]
)
def test_not_phone_numbers(text: str) -> None:
    assert _found(text) == []


def test_phone_prefilter_never_hides_a_number() -> None:
    """The fast byte prefilter agrees with the full pattern on random near-misses."""
    rng = random.Random(7)
    alphabet = "0123456789 .-+()a\n٣é"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
        real = [m for m in PHONE.finditer(text) if not placeholder_phone(m.group(0))]
        assert bool(_found(text)) == bool(real), repr(text)


def test_tokens_and_keys_are_errors_at_their_place() -> None:
    token = "ghp_" + "a1B2" * 9
    found = list(scan_text(f"a: 1\nb: x {token}\n", "qna.yaml"))
    assert [(f.line, f.column, f.severity, f.rule) for f in found] == [(2, 6, "error", "secret")]
    assert "GitHub token" in found[0].message


@pytest.mark.parametrize(
    "number",
    [
        "123-456-7890",
        "111-222-3333",
        "000-000-0000",
        "(999) 999-9999",
        "987-654-3210",
        "555-555-5555",
        "(212) 555-0123",
        "+1 800 555 0199",
        "+44 234-567-8901",
    ],
)
def test_placeholder_phone_numbers_are_quiet(number: str) -> None:
    assert _found(f"answer: |\n  Phone: {number}\n") == []


@pytest.mark.parametrize(
    "number", ["123-456-7891", "111-222-3334", "(212) 555-0200", "212-555-1001", "321-456-7890"]
)
def test_numbers_near_a_placeholder_are_reported(number: str) -> None:
    assert _found(f"answer: |\n  Phone: {number}\n") == [(2, 10, "personal-data")]


def test_email_at_example_domains_is_not_personal() -> None:
    assert _found("contact: someone@example.com") == []
    assert _found("a@example.org b@example.net c@shop.example d@x.invalid e@y.test") == []
    assert _found("contact: someone@ibm.com") == [(1, 10, "personal-data")]
