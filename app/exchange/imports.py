"""Importing villages and households of one commune from a file: preview, apply, templates.

The rows come from `reading.read_spreadsheet` and are classified by `preview()`:

- **create**: a new household (in a new village when no village of the commune has that
  name, names compared folded: "Buon Ako Dhong" is "Buôn Ako Dhông");
- **match**: the household is already registered, so importing the file again adds
  nothing twice. A row matches a household that is not deleted, in the same village, whose
  head has the same folded name, when the phone numbers do not disagree: the same number, or
  no number on one side or the other. Two rows of the file match the same way: the later
  one is taken as a repeat of the first. A match changes nothing on the household.
- **error**: the row cannot be imported (no village, no head of household, a name too
  long, a phone number that is not Vietnamese…); it is listed with its row number and
  column and **skipped**, and the rest of the file can still be imported. Fixing the file
  and importing it again is safe: the rows already imported come back as matches.

`apply()` makes the villages and households of a plan, with one audit row for the whole
import. Households are made as the registry's `add_household` makes them (same fields, same
"household.create" audit rows) but a batch at a time, and `tallies.refresh_households`
moves the counters for each batch, so every figure stays exact. `apply()` does not commit:
the caller commits once, so the import is all or nothing.
"""

import csv
import io
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from app.clock import as_utc, utcnow
from app.exchange.reading import Sheet
from app.extensions import db
from app.models import AuditEvent, Commune, Household, PendingImport, User, Village, VillageKind
from app.models.audit import record
from app.progress import tallies
from app.text import clean_name, fold, normalise_phone

PENDING_LIFETIME = timedelta(hours=1)
BATCH = 500  # households inserted per statement
MAX_NAME = 120
MAX_ADDRESS = 200
TEMPLATE_ROWS = (
    ("thon", "chu_ho", "dia_chi", "so_dien_thoai"),
    ("Buôn Ako Dhông", "H'Hen Niê", "Số 4", "0912 345 678"),
)
# How a village's kind is guessed from the start of its folded name; anything else is a thôn.
_KIND_PREFIXES = (
    ("to dan pho", VillageKind.TO_DAN_PHO),
    ("tdp", VillageKind.TO_DAN_PHO),
    ("buon", VillageKind.BUON),
    ("bon", VillageKind.BON),
)


@dataclass
class PlannedRow:
    """A row that will be created, or that matches a household already there."""

    row: int
    village: str
    head_name: str
    address: str | None
    phone: str | None
    is_new_village: bool = False
    household_id: int | None = None  # match: the registered household
    same_as_row: int | None = None  # match: an earlier row of the same file


@dataclass
class RowError:
    row: int
    column: str  # the field: village, head_name, address or phone
    message: str


@dataclass
class ImportPlan:
    """What confirming would do, row by row. `new_villages` are the names to create."""

    to_create: list[PlannedRow] = field(default_factory=list)
    matches: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    new_villages: list[str] = field(default_factory=list)

    @property
    def rows_with_errors(self) -> int:
        return len({error.row for error in self.errors})


@dataclass
class ImportResult:
    created: int
    matched: int
    villages_created: int
    errors: int


# ---------------------------------------------------------------------------------------------
# Preview


def preview(rows: list[dict], commune: Commune) -> ImportPlan:
    """Classify every row against the commune's villages and households as they are now."""
    villages = {
        village.folded_name: village
        for village in db.session.scalars(sa.select(Village).where(Village.commune_id == commune.id))
    }
    registered: dict[tuple[int, str], list[tuple[int, str | None]]] = {}
    for household_id, village_id, folded, phone in db.session.execute(
        sa.select(Household.id, Household.village_id, Household.head_name_folded, Household.phone)
        .where(Household.commune_id == commune.id, Household.deleted_at.is_(None))
        .order_by(Household.id)
    ):
        registered.setdefault((village_id, folded), []).append((household_id, phone))

    plan = ImportPlan()
    new_villages: set[str] = set()
    seen: dict[tuple[str, str], list[PlannedRow]] = {}
    for raw in rows:
        planned, errors = _checked(raw)
        if errors:
            plan.errors.extend(errors)
            continue
        village_key = fold(planned.village)
        key = (village_key, fold(planned.head_name))
        earlier = _same_household(seen.get(key, []), planned.phone, lambda row: row.phone)
        if earlier is not None:
            planned.same_as_row = earlier.row
            plan.matches.append(planned)
            continue
        village = villages.get(village_key)
        if village is not None:
            planned.village = village.name  # shown as the registry spells it
            candidates = registered.get((village.id, key[1]), [])
            existing = _same_household(candidates, planned.phone, lambda candidate: candidate[1])
            if existing is not None:
                planned.household_id = existing[0]
                plan.matches.append(planned)
                continue
        elif village_key not in new_villages:
            new_villages.add(village_key)
            plan.new_villages.append(planned.village)
        planned.is_new_village = village is None
        plan.to_create.append(planned)
        seen.setdefault(key, []).append(planned)
    return plan


def _same_household(candidates: list, phone: str | None, phone_of: Callable):
    """Among households with the same village and folded name, the one this row repeats:
    the same phone number first, else one whose number cannot disagree (either is missing)."""
    for candidate in candidates:
        if phone is not None and phone_of(candidate) == phone:
            return candidate
    for candidate in candidates:
        if phone is None or phone_of(candidate) is None:
            return candidate
    return None


def _checked(raw: dict) -> tuple[PlannedRow, list[RowError]]:
    """A row cleaned as it will be stored, and what is wrong with it."""
    number = raw["row"]
    village = clean_name(raw.get("village"))
    head_name = clean_name(raw.get("head_name"))
    address = clean_name(raw.get("address")) or None
    typed_phone = clean_name(raw.get("phone"))
    phone = normalise_phone(_with_leading_zero(typed_phone))
    errors = []

    def error(column: str, message: str) -> None:
        errors.append(RowError(number, column, message))

    if not village:
        error("village", _("Enter the village (thôn, buôn, tổ dân phố)."))
    elif len(village) > MAX_NAME:
        error("village", _("The village name can be at most 120 characters."))
    elif not fold(village):
        error("village", _("The village name must contain letters or digits."))
    if not head_name:
        error("head_name", _("Enter the name of the head of household."))
    elif len(head_name) > MAX_NAME:
        error("head_name", _("The name must be 1 to 120 characters."))
    if address and len(address) > MAX_ADDRESS:
        error("address", _("The address can be at most 200 characters."))
    if typed_phone and phone is None:
        error("phone", _("This is not a Vietnamese phone number."))
    return PlannedRow(number, village, head_name, address, phone), errors


def _with_leading_zero(phone: str) -> str:
    """Excel drops the 0 of a phone number typed into a number cell: 912345678."""
    if len(phone) == 9 and phone.isascii() and phone.isdigit() and phone[0] in "35789":
        return "0" + phone
    return phone


# ---------------------------------------------------------------------------------------------
# Apply


def apply(
    plan: ImportPlan,
    commune: Commune,
    actor: User | None,
    filename: str,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Create the plan's villages and households with one audit row for the import.
    `actor` is None from the command line. The caller commits."""
    villages = {
        village.folded_name: village
        for village in db.session.scalars(sa.select(Village).where(Village.commune_id == commune.id))
    }
    actor_id = actor.id if actor else None
    villages_created = 0
    placed = []
    for planned in plan.to_create:
        folded = fold(planned.village)
        village = villages.get(folded)
        if village is None:
            village = Village(commune=commune, name=planned.village, folded_name=folded, kind=guess_kind(folded))
            db.session.add(village)
            record(actor_id, "village.create", village, changes={"name": village.name, "kind": village.kind})
            villages[folded] = village
            villages_created += 1
        placed.append((village, planned))
    for start in range(0, len(placed), BATCH):
        batch = placed[start : start + BATCH]
        _add_households(batch, commune, actor_id)
        if progress is not None:
            progress(len(batch))
    result = ImportResult(len(plan.to_create), len(plan.matches), villages_created, plan.rows_with_errors)
    record(
        actor_id,
        "import.households",
        object_type="import",
        commune_id=commune.id,
        changes={
            "file": filename,
            "created": result.created,
            "matched": result.matched,
            "villages_created": result.villages_created,
            "errors": result.errors,
        },
    )
    return result


def _add_households(batch: list[tuple[Village, PlannedRow]], commune: Commune, actor_id: int | None) -> None:
    """Insert households as the registry's `add_household` makes them, with the same audit
    rows, a batch at a time: add_household's several statements per household would keep
    an officer waiting minutes for a commune's list. The counting module then moves the
    counters for the batch."""
    db.session.flush()  # new villages get their ids
    households = [
        {
            "uuid": str(uuid.uuid4()),
            "commune_id": commune.id,
            "village_id": village.id,
            "head_name": planned.head_name,
            "head_name_folded": fold(planned.head_name),
            "address": planned.address,
            "phone": planned.phone,
            "created_by_id": actor_id,
        }
        for village, planned in batch
    ]
    ids = db.session.scalars(
        sa.insert(Household).returning(Household.id, sort_by_parameter_order=True), households
    ).all()
    db.session.execute(
        sa.insert(AuditEvent),
        [
            {
                "actor_id": actor_id,
                "action": "household.create",
                "object_type": Household.__tablename__,
                "object_id": str(household_id),
                "commune_id": commune.id,
                "changes": {name: household[name] for name in ("village_id", "head_name", "address", "phone")},
            }
            for household_id, household in zip(ids, households, strict=True)
        ],
    )
    tallies.refresh_households(ids)


def guess_kind(folded_name: str) -> VillageKind:
    """'Buôn Ako Dhông' is a buôn, 'Bon Bu Dăr' a bon, 'Tổ dân phố 3' or 'TDP 3' a tổ dân phố."""
    for prefix, kind in _KIND_PREFIXES:
        if folded_name == prefix or folded_name.startswith(prefix + " "):
            return kind
    return VillageKind.THON


# ---------------------------------------------------------------------------------------------
# Pending imports: the rows kept between the preview and the confirmation


def save_pending(sheet: Sheet, filename: str, commune: Commune, user: User) -> PendingImport:
    """Keep the rows read from a file until the user confirms or cancels. The user's older
    pending imports, and everyone's expired ones, are deleted."""
    db.session.execute(
        sa.delete(PendingImport).where(
            sa.or_(PendingImport.user_id == user.id, PendingImport.created_at < utcnow() - PENDING_LIFETIME)
        )
    )
    pending = PendingImport(
        token=secrets.token_urlsafe(32),
        user_id=user.id,
        commune_id=commune.id,
        filename=filename[:255],
        columns=sheet.columns,
        rows=sheet.rows,
    )
    db.session.add(pending)
    return pending


def pending_for(token: str, user: User) -> PendingImport | None:
    """The user's own pending import with this token (None for anyone else's)."""
    return db.session.scalar(
        sa.select(PendingImport).where(PendingImport.token == token, PendingImport.user_id == user.id)
    )


def has_expired(pending: PendingImport) -> bool:
    return as_utc(pending.created_at) < utcnow() - PENDING_LIFETIME


def discard(pending: PendingImport) -> None:
    db.session.delete(pending)


# ---------------------------------------------------------------------------------------------
# Templates to fill in


def template_csv() -> bytes:
    """The template as CSV: UTF-8 with a byte-order mark, so Excel shows the accents."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(TEMPLATE_ROWS)
    return text.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    """The template as an Excel workbook; the phone column is text, so 0912… keeps its 0."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Households")[:31]
    for row in TEMPLATE_ROWS:
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (24, 28, 20, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.column_dimensions["D"].number_format = "@"
    sheet["D2"].number_format = "@"
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
