"""The one place for Vietnamese text rules: clean names, fold for search, normalise phones, read ids.

DESIGN.md, Text: store NFC; accept NFD and old-style tone placement; trim and collapse
white space; search ignores accents, case and the apostrophes of Ê Đê, M'nông and J'rai names.
"""

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
# Apostrophe-like marks people type in highland names: H'Hen, H’Hen, Hʼ Hen.
_APOSTROPHES = re.compile(r"['’‘`´ʼʻ]")
_NOT_WORD = re.compile(r"[^0-9a-z ]+")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
# Mobile numbers: 0 + 3/5/7/8/9 + 8 digits. Landlines: 02 + 9 digits.
_VIETNAMESE_PHONE = re.compile(r"0[35789]\d{8}|02\d{9}")


def clean_name(raw: str | None) -> str:
    """NFC, trimmed, inner white space collapsed to one space."""
    if raw is None:
        return ""
    text = unicodedata.normalize("NFC", raw)
    return _WHITESPACE.sub(" ", text).strip()


def fold(raw: str | None) -> str:
    """Lower-case ASCII form for matching: 'Đặng Thị Hoà' and 'dang thi hoa' fold alike.

    Because tone marks are dropped, old and new tone placement ('Hoà', 'Hòa') fold alike too.
    """
    text = clean_name(raw).replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _APOSTROPHES.sub("", text)
    text = _NOT_WORD.sub(" ", text)
    return _WHITESPACE.sub(" ", text).strip()


def normalise_phone(raw: str | None) -> str | None:
    """The one stored form of a Vietnamese number ('0912345678'), or None if it is not one.

    '0912 345 678', '+84 912 345 678' and '84912345678' are the same number.
    """
    if not raw:
        return None
    digits = _PHONE_SEPARATORS.sub("", raw.strip())
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return digits if _VIETNAMESE_PHONE.fullmatch(digits) else None


def as_id(raw: str | None) -> int | None:
    """An identifier typed or posted as text: ASCII digits that fit the database's integer,
    else None. ('²' and '١' are digits to str.isdigit(), but not to int() or to a person.)"""
    if raw and raw.isascii() and raw.isdigit() and len(raw) < 10:
        return int(raw)
    return None


def mask_phone(phone: str | None) -> str:
    """'0912345678' shown as '0912 *** 678' where the full number is not needed."""
    if not phone:
        return ""
    return f"{phone[:4]} *** {phone[-3:]}"
