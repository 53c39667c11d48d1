"""The household registry: search, duplicate suggestions, adding and editing households."""

import re
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.auth.access import in_scope
from app.clock import utcnow
from app.extensions import db
from app.models import Attendance, Household, Topic, TrainingSession, User, Village, session_topic
from app.models.audit import record
from app.progress import tallies
from app.progress.tallies import counting_sessions, is_trained
from app.text import clean_name, fold, normalise_phone

SEARCH_LIMIT = 20
_PHONE_PUNCTUATION = re.compile(r"[\s.+()-]")


@dataclass
class NewHousehold:
    """A household typed by a volunteer; `uuid` is made by their phone or form."""

    uuid: str
    head_name: str
    address: str | None = None
    phone: str | None = None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_households(village_ids: list[int] | sa.Select, query: str, limit: int | None = SEARCH_LIMIT) -> sa.Select:
    """Households of these villages (a list of ids, or a select of them) that match what was
    typed (see `matching_households`), at most `limit` of them."""
    select = matching_households(query).where(Household.village_id.in_(village_ids))
    return select.limit(limit) if limit else select


def matching_households(query: str) -> sa.Select:
    """Households (not deleted) whose head's name holds every word typed, accents and
    apostrophes ignored ('hhen' finds H'Hen); digits typed match the phone number instead.
    By folded name, in every commune: callers narrow it to a village or to what the user may see."""
    select = (
        sa.select(Household).where(Household.deleted_at.is_(None)).order_by(Household.head_name_folded, Household.id)
    )
    # A whole number in any usual form ('+84 912 345 678') is looked up as it is stored.
    compact = normalise_phone(query) or _PHONE_PUNCTUATION.sub("", query)
    words = fold(query).split()
    if len(compact) >= 3 and compact.isascii() and compact.isdigit():
        select = select.where(Household.phone.contains(compact, autoescape=True))
    elif query.strip() and not words:
        # Only marks were typed ('%', '_', '-'): they match no name, rather than every name.
        select = select.where(sa.false())
    else:
        for word in words:
            select = select.where(Household.head_name_folded.like(f"%{_like_escape(word)}%", escape="\\"))
    return select


def likely_duplicates(village_id: int, head_name: str, phone: str | None) -> list[Household]:
    """Households of the village with the same folded name, or the same phone number."""
    same = Household.head_name_folded == fold(head_name)
    normalised = normalise_phone(phone)
    if normalised:
        same = sa.or_(same, Household.phone == normalised)
    return list(
        db.session.scalars(
            sa.select(Household)
            .where(Household.village_id == village_id, Household.deleted_at.is_(None), same)
            .order_by(Household.id)
        )
    )


def add_household(village, new: NewHousehold, actor: User, *, count: bool = True) -> Household:
    """Create a household (or return the one this uuid already made) with an audit row.
    `village`: a Village, or any row with its id and commune_id. count=False leaves the
    counters to the caller, who recounts it with others at once."""
    existing = db.session.scalar(sa.select(Household).where(Household.uuid == new.uuid))
    if existing is not None:
        return existing
    head_name = clean_name(new.head_name)
    household = Household(
        uuid=new.uuid,
        commune_id=village.commune_id,
        village_id=village.id,
        head_name=head_name,
        head_name_folded=fold(head_name),
        address=clean_name(new.address) or None,
        phone=normalise_phone(new.phone),
        created_by_id=actor.id,
    )
    db.session.add(household)
    record(actor.id, "household.create", household, changes=household_fields(household))
    if count:
        tallies.refresh_households([household.id])  # one more registered household
    return household


def household_fields(household: Household) -> dict:
    """What the audit trail keeps of a household."""
    return {
        "village_id": household.village_id or household.village.id,
        "head_name": household.head_name,
        "address": household.address,
        "phone": household.phone,
    }


def visible_villages(user: User) -> list[Village]:
    """The villages the user may see, with their communes, sorted by commune then village
    as a Vietnamese reader expects (accents ignored)."""
    villages = db.session.scalars(
        in_scope(sa.select(Village), Village, user).options(so.joinedload(Village.commune))
    ).all()
    return sorted(villages, key=lambda v: (fold(v.commune.name), v.folded_name, v.id))


def registry_page(user: User, village: Village | None, query: str) -> sa.Select:
    """The ids of the registry's list, in its order: every match of the search in one village
    (one the user may see), or else in all the user may see (`registry_households` loads a
    page of them).

    The whole registry is narrowed by the household's own commune, not by a list of villages:
    each of the three reaches (village, commune, province) then has an index in the order of
    the list that also holds what the search filters on, so a page of ids and the count of
    matches read that index alone (1,000,000 households at province scale; bench/search.py).
    Asked for whole rows at once, PostgreSQL read every household of the commune instead."""
    found = matching_households(query).with_only_columns(Household.id)
    return found.where(Household.village_id == village.id) if village is not None else in_scope(found, Household, user)


def registry_households(ids: list[int]) -> list[Household]:
    """The households of a page of the registry, in the page's order, with village and commune."""
    households = db.session.scalars(
        sa.select(Household)
        .where(Household.id.in_(ids))
        .options(so.selectinload(Household.village).joinedload(Village.commune))
    ).all()
    by_id = {household.id: household for household in households}
    return [by_id[household_id] for household_id in ids]


def trained_among(household_ids: list[int]) -> set[int]:
    """Which of these households are trained, by the one counting rule."""
    if not household_ids:
        return set()
    return set(db.session.scalars(sa.select(Household.id).where(Household.id.in_(household_ids), is_trained())))


def sessions_attended(household: Household) -> sa.Select:
    """Every session the household attended, newest first, deleted sessions left out.
    Rejected ones stay listed (with their status) so the history is complete."""
    return (
        sa.select(TrainingSession)
        .join(Attendance, Attendance.session_id == TrainingSession.id)
        .where(Attendance.household_id == household.id, TrainingSession.deleted_at.is_(None))
        .order_by(TrainingSession.held_on.desc(), TrainingSession.id.desc())
        .options(
            so.joinedload(TrainingSession.village),
            so.joinedload(TrainingSession.volunteer),
            so.selectinload(TrainingSession.topics),
        )
    )


def topics_learned(household: Household) -> sa.Select:
    """The topics the household has learned: those taught at sessions that count."""
    learned = (
        sa.select(session_topic.c.topic_id)
        .join(TrainingSession, TrainingSession.id == session_topic.c.session_id)
        .join(Attendance, Attendance.session_id == TrainingSession.id)
        .where(Attendance.household_id == household.id, counting_sessions())
    )
    return sa.select(Topic).where(Topic.id.in_(learned)).order_by(Topic.sort_order, Topic.id)


def update_household(household: Household, data: dict, actor: User) -> dict[str, list]:
    """Change a household's head, address and phone from typed values, with an audit row of
    what changed (nothing is written when nothing changed). Returns the changes."""
    head_name = clean_name(data.get("head_name"))
    new = {
        "head_name": head_name,
        "address": clean_name(data.get("address")) or None,
        "phone": normalise_phone(data.get("phone")),
    }
    changes = {
        field: [getattr(household, field), value] for field, value in new.items() if getattr(household, field) != value
    }
    if not changes:
        return changes
    for field, (_old, value) in changes.items():
        setattr(household, field, value)
    household.head_name_folded = fold(head_name)
    record(actor.id, "household.update", household, changes=changes)
    return changes


def delete_household(household: Household, actor: User) -> None:
    """Soft delete (a duplicate, a household that moved away): it stops being registered or
    counted, keeps its history, and an officer can restore it."""
    if household.deleted_at is None:
        household.deleted_at = utcnow()
        tallies.refresh_households([household.id])
        record(actor.id, "household.delete", household)


def restore_household(household: Household, actor: User) -> None:
    if household.deleted_at is not None:
        household.deleted_at = None
        tallies.refresh_households([household.id])
        record(actor.id, "household.restore", household)


def deleted_households(user: User) -> sa.Select:
    """The commune's deleted households, most recently deleted first (for restoring)."""
    return (
        in_scope(sa.select(Household), Household, user)
        .where(Household.deleted_at.is_not(None))
        .order_by(Household.deleted_at.desc(), Household.id)
    )
