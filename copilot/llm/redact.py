"""Personal data out of text bound for a remote model: e-mail addresses, phone and card numbers.

Order numbers, dates, error codes and amounts must survive, so the patterns are narrow: a card
number must pass the Luhn check, and a phone number needs a leading "+" or the separators of a
US number.
"""

from __future__ import annotations

import re

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
CARD = "[CARD]"

_EMAIL = re.compile(
    r"(?<![\w.+-])"
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?![\w-])"
)

# 13-19 digits, optionally grouped by single spaces or dashes; Luhn decides.
_CARD = re.compile(r"(?<![\w+-])\d(?:[ -]?\d){12,18}(?![\w-])")

# "+" then 7-15 digits (E.164) in groups of 1-4, with an optional (area code).
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){1,6}(?![\w-])")

# US: (415) 555-0100, 415-555-0100, 415.555.0100, 415 555 0100, 1-800-555-0199, 4155550100
# only with a +1 prefix (bare ten digits are too often order numbers).
_PHONE_US = re.compile(
    r"(?<![\w+.-])(?:1[ .-])?(?:\(\d{3}\)[ ]?|\d{3}[ .-])\d{3}[ .-]\d{4}"
    r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w-])"
)


def redact(text: str) -> str:
    """`text` with e-mail addresses, payment card numbers and phone numbers replaced."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL, text)
    # "+<country> ..." is a phone even when its digits happen to pass the Luhn check.
    text = _PHONE_INTL.sub(_intl_phone, text)
    text = _CARD.sub(_card, text)
    return _PHONE_US.sub(PHONE, text)


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by payment cards."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    if 13 <= len(digits) <= 19 and luhn_valid(digits) and len(set(digits)) > 1:
        return CARD
    return match.group()


def _intl_phone(match: re.Match[str]) -> str:
    digits = sum(c.isdigit() for c in match.group())
    return PHONE if 7 <= digits <= 15 else match.group()
