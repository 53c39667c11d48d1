"""Household targets: each commune's share of the province target, and how they add up.

Province staff set every commune's target (chỉ tiêu). The province target itself comes from
the TARGET_HOUSEHOLDS setting; the page compares the two so a mismatch is noticed.
"""

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _

from app.extensions import db
from app.models import Commune, User
from app.models.audit import record
from app.text import fold

MAX_TARGET = 1_000_000

_DIGITS = re.compile(r"\+?[0-9]+")
# '257.959', '257,959' and '257 959': thousands written the Vietnamese or English way.
_GROUPED = re.compile(r"[0-9]{1,3}(?:([.,])[0-9]{3})(?:\1[0-9]{3})*")
_NEGATIVE = re.compile(r"-[0-9]+(?:[.,][0-9]*)?")
_DECIMAL = re.compile(r"[0-9]*[.,][0-9]+|[0-9]+[.,]")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


@dataclass(frozen=True)
class TargetsSummary:
    province_target: int
    communes_total: int

    @property
    def difference(self) -> int:
        """Commune targets minus the province target: negative when the communes fall short."""
        return self.communes_total - self.province_target

    @property
    def is_balanced(self) -> bool:
        return self.difference == 0


def parse_target(raw: str | None) -> int:
    """A typed target as a whole number of households, or ValueError with the message to show.

    Empty is an error, not 'unchanged'. Thousands separators are accepted ('2.500' is 2500,
    as a Vietnamese reader means it); decimals ('1.5'), negatives and words are not.
    """
    text = _SPACES.sub("", raw or "")
    if not text:
        raise ValueError(_("Enter the target."))
    if _GROUPED.fullmatch(text):
        text = re.sub(r"[.,]", "", text)
    if _NEGATIVE.fullmatch(text):
        raise ValueError(_("The target cannot be negative."))
    if _DECIMAL.fullmatch(text):
        raise ValueError(_("The target must be a whole number, without decimals."))
    if not _DIGITS.fullmatch(text):
        raise ValueError(_("Enter a whole number, such as %(example)s.", example=format_decimal(2500)))
    digits = text.lstrip("+").lstrip("0") or "0"
    # Past MAX_TARGET's length it is too large; int() of thousands of digits would refuse in words of its own.
    value = int(digits) if len(digits) <= len(str(MAX_TARGET)) else MAX_TARGET + 1
    if value > MAX_TARGET:
        raise ValueError(_("The target can be at most %(max)s.", max=format_decimal(MAX_TARGET)))
    return value


def province_communes(query: str = "") -> list[Commune]:
    """The province's communes in alphabetical order (accents aside), optionally only those
    whose name holds every word of `query`, accents and case ignored ('hoa phu' finds Hòa Phú)."""
    communes = db.session.scalars(
        sa.select(Commune).where(Commune.province_code == current_app.config["PROVINCE_CODE"])
    ).all()
    words = fold(query).split()
    chosen = [commune for commune in communes if all(word in fold(commune.name) for word in words)]
    return sorted(chosen, key=lambda commune: (fold(commune.name), commune.name, commune.code))


def province_commune_or_none(code: str) -> Commune | None:
    return db.session.scalar(
        sa.select(Commune).where(Commune.code == code, Commune.province_code == current_app.config["PROVINCE_CODE"])
    )


def targets_summary() -> TargetsSummary:
    """The province target next to the sum of its communes' targets."""
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Commune.target_households), 0)).where(
            Commune.province_code == current_app.config["PROVINCE_CODE"]
        )
    )
    return TargetsSummary(province_target=current_app.config["TARGET_HOUSEHOLDS"], communes_total=int(total))


def read_targets(communes: list[Commune], formdata) -> tuple[dict[str, str], dict[str, int], dict[str, str]]:
    """The table form's `target-<code>` inputs: (typed text, parsed values, error messages), each by
    commune code. A commune whose input is missing from the form is left out of all three."""
    typed: dict[str, str] = {}
    values: dict[str, int] = {}
    errors: dict[str, str] = {}
    for commune in communes:
        raw = formdata.get(f"target-{commune.code}")
        if raw is None:
            continue
        typed[commune.code] = raw
        try:
            values[commune.code] = parse_target(raw)
        except ValueError as error:
            errors[commune.code] = str(error)
    return typed, values, errors


def set_targets(changes: dict[str, int], user: User) -> int:
    """Write the targets that differ from the stored ones, with one audit row each.

    Returns how many communes changed. The caller commits, so the whole table is one change.
    """
    if not changes:
        return 0
    communes = db.session.scalars(
        sa.select(Commune).where(
            Commune.code.in_(list(changes)), Commune.province_code == current_app.config["PROVINCE_CODE"]
        )
    )
    changed = 0
    for commune in communes:
        old, new = commune.target_households, changes[commune.code]
        if old == new:
            continue
        commune.target_households = new
        record(
            user.id,
            "commune.set_target",
            commune,
            changes={"target_households": [old, new]},
            commune_id=commune.id,
        )
        changed += 1
    return changed
