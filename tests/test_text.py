import pytest

from app.text import clean_name, fold, mask_phone, normalise_phone


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Nguyễn   Văn  An ", "Nguyễn Văn An"),
        ("Nguye\u0302\u0303n", "Nguyễn"),  # NFD in, NFC out
        ("Buôn\tAko\nDhông", "Buôn Ako Dhông"),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("Nguyễn Văn An", "nguyen van"),
        ("Đặng Thị Hoà", "dang"),
        ("Đặng Thị Hòa", "dang thi hoa"),
        ("Đặng Thị Hoà", "Đặng Thị Hòa"),  # old and new tone placement
        ("H'Hen Niê", "hhen"),  # Ê Đê
        ("H’Hen Niê", "hhen nie"),  # typographic apostrophe
        ("Y Bhim Mlô", "y bhim mlo"),
        ("Điểu K'Lương", "dieu klương"),  # M'nông
        ("Ksor H'Bia", "ksor hbia"),  # J'rai
        ("Rơ Châm Y Phim", "ro cham"),
        ("Nguye\u0302\u0303n Thi\u0323 Thu", "nguyễn thị"),  # NFD stored text
    ],
)
def test_fold_matches_without_accents_case_or_apostrophes(name, query):
    assert fold(query) in fold(name)


def test_fold_keeps_different_names_apart():
    assert fold("Nguyễn Văn Anh") != fold("Nguyễn Văn An")
    assert fold("H'Hen") == "hhen"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("0912 345 678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("0912.345.678", "0912345678"),
        ("(+84) 912-345-678", "0912345678"),
        ("0352 123 456", "0352123456"),
        ("0262 3852 123", "02623852123"),  # Đắk Lắk landline
        ("0123 456 789", None),  # old 11-digit prefixes are gone
        ("091234567", None),  # too short
        ("09123456789", None),  # too long
        ("abc", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_phone(raw, stored):
    assert normalise_phone(raw) == stored


def test_mask_phone_keeps_the_ends():
    assert mask_phone("0912345678") == "0912 *** 678"
    assert mask_phone(None) == ""
