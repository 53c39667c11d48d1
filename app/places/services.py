"""Communes from the official 2025 data of the `vietnam-provinces` package."""

import re
from dataclasses import dataclass

import sqlalchemy as sa
from vietnam_provinces import ProvinceCode, VietNamDivisionType, Ward

from app.extensions import db
from app.models import Commune, CommuneKind
from app.text import clean_name

_KINDS = {VietNamDivisionType.XA: CommuneKind.XA, VietNamDivisionType.PHUONG: CommuneKind.PHUONG}
# The package writes "Phường  Tân An"; the kind is kept in its own column.
_KIND_PREFIX = re.compile(r"^(xã|phường)\s+", re.IGNORECASE)


class UnknownProvince(ValueError):
    pass


@dataclass
class LoadResult:
    added: int
    updated: int
    unchanged: int


def official_communes(province_code: int) -> list[Ward]:
    """The province's communes and wards in the 2025 data. Raises UnknownProvince."""
    try:
        code = ProvinceCode(province_code)
    except ValueError:
        raise UnknownProvince(province_code) from None
    return list(Ward.iter_by_province(code))


def commune_name(official_name: str) -> str:
    """'Phường  Buôn Ma Thuột' -> 'Buôn Ma Thuột' (clean, without the kind)."""
    return _KIND_PREFIX.sub("", clean_name(official_name))


def load_communes(province_code: int) -> LoadResult:
    """Insert missing communes and refresh names and kinds of known ones. Idempotent."""
    wards = official_communes(province_code)
    existing = {c.code: c for c in db.session.scalars(sa.select(Commune))}
    result = LoadResult(0, 0, 0)
    for ward in wards:
        code = str(int(ward.code))
        name, kind = commune_name(ward.name), _KINDS[ward.division_type].value
        commune = existing.get(code)
        if commune is None:
            db.session.add(Commune(code=code, province_code=province_code, name=name, kind=kind))
            result.added += 1
        elif (commune.name, commune.kind) != (name, kind):
            commune.name, commune.kind = name, kind
            result.updated += 1
        else:
            result.unchanged += 1
    return result
