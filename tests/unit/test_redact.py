"""Redaction before any remote call: e-mail, phone and card numbers out; order numbers stay."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copilot.llm.redact import luhn_valid, redact


def luhn_complete(body: str) -> str:
    """`body` with the check digit that makes it pass Luhn."""
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def group(digits: str, sizes: list[int], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        if i >= len(digits):
            break
        parts.append(digits[i : i + size])
        i += size
    if i < len(digits):
        parts.append(digits[i:])
    return sep.join(parts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail me at ada.lovelace@northwind.example.", "Mail me at [EMAIL]."),
        ("<j.o'neil+billing@mail.co.uk>", "<[EMAIL]>"),
        ("Call +44 20 7946 0958 today", "Call [PHONE] today"),
        ("Call +1 (415) 555-0100.", "Call [PHONE]."),
        ("WhatsApp +4915112345678", "WhatsApp [PHONE]"),
        ("US: (415) 555-0100 or 415-555-0100", "US: [PHONE] or [PHONE]"),
        ("dots 415.555.0100, spaces 415 555 0100", "dots [PHONE], spaces [PHONE]"),
        ("toll free 1-800-555-0199 ext. 42", "toll free [PHONE]"),
        ("card 4111 1111 1111 1111 expires", "card [CARD] expires"),
        ("card 4111-1111-1111-1111", "card [CARD]"),
        ("amex 378282246310005", "amex [CARD]"),
    ],
)
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Order 4111111111111112 was charged twice",  # 16 digits, fails Luhn
        "Invoice INV-2026-000123 and order #1234567890123",
        "Error BF-102 since 2026-10-01 at 09:30",
        "Paid $1,234.56 on 01/10/2026, ticket 55501000",
        "Build 1.2.3.4 on host 10.0.0.12",
        "Reference 0000 0000 0000 0000",
        "No personal data at all.",
    ],
)
def test_order_numbers_dates_and_codes_are_kept(text: str) -> None:
    assert redact(text) == text


@given(
    body=st.text("0123456789", min_size=12, max_size=18),
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=8),
    sep=st.sampled_from(["", " ", "-"]),
)
def test_any_luhn_valid_card_number_is_redacted(body: str, sizes: list[int], sep: str) -> None:
    number = luhn_complete(body)
    if len(set(number)) == 1:
        return  # 0000... passes Luhn but is no card; covered above
    text = f"my card is {group(number, sizes, sep)}, thanks"

    assert redact(text) == "my card is [CARD], thanks"


@given(digits=st.text("0123456789", min_size=13, max_size=19))
def test_bare_digit_runs_failing_luhn_are_kept(digits: str) -> None:
    if luhn_valid(digits):
        digits = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    text = f"order {digits} shipped"

    assert redact(text) == text


@given(email=st.emails())
def test_any_email_address_is_redacted(email: str) -> None:
    text = f"Contact: {email} (primary)"

    assert redact(text) == "Contact: [EMAIL] (primary)"


@given(
    country=st.integers(1, 999),
    groups=st.lists(st.text("0123456789", min_size=2, max_size=4), min_size=2, max_size=4),
    sep=st.sampled_from([" ", "-", "."]),
)
def test_international_numbers_are_redacted(country: int, groups: list[str], sep: str) -> None:
    number = f"+{country}{sep}{sep.join(groups)}"
    digits = sum(c.isdigit() for c in number)
    if not 7 <= digits <= 15:
        return

    assert redact(f"call {number} now") == "call [PHONE] now"


@given(st.text())
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)

    assert redact(once) == once


@given(st.text(alphabet=st.characters(blacklist_categories=["Nd"], blacklist_characters="@")))
def test_text_without_digits_or_at_signs_is_unchanged(text: str) -> None:
    assert redact(text) == text


def test_an_international_number_whose_digits_pass_luhn_is_still_a_phone() -> None:
    assert redact("call +1 28 104 0000 0014 now") == "call [PHONE] now"
    assert redact("card 4111 1111 1111 1111, phone +44 20 7946 0018") == (
        "card [CARD], phone [PHONE]"
    )
