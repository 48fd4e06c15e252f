"""Normalising members' phones and emails, and the digests their unique keys are on.

A phone is kept as digits: separators (spaces, dashes, dots, brackets) go, an international
prefix (``+`` or ``00``) goes, and China's country code 86 before an 11-digit mobile number goes,
so "+86 138 0013 8000", "13800138000" and "86-13800138000" are one phone, ``13800138000``. Other
numbers keep their country code ("+44 20 7946 0958" is ``442079460958``). An email is trimmed and
lower-cased.
"""
from __future__ import annotations

import hashlib
import re

_SEPARATORS = re.compile(r"[\s\-.()/]")
_CN_MOBILE = re.compile(r"1\d{10}")


def normalise_phone(value: str) -> str:
    """The phone as stored and compared; ValueError if it is not a phone number."""
    digits = _SEPARATORS.sub("", value)
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("a phone number has digits, spaces, dashes, brackets and a leading + only")
    if digits.startswith("86") and _CN_MOBILE.fullmatch(digits[2:]):
        digits = digits[2:]
    if not 6 <= len(digits) <= 15:
        raise ValueError("a phone number has 6 to 15 digits")
    return digits


def normalise_email(value: str) -> str:
    return value.strip().lower()


def digest(value: str) -> str:
    """The key a phone or email is unique and looked up by (hex SHA-256 of the normalised value)."""
    return hashlib.sha256(value.encode()).hexdigest()
