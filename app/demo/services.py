"""Labelled sample data so a newcomer sees a living app. Never runs on a database with users."""

import random
import secrets
import string
import uuid
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from app.auth.services import create_user
from app.clock import local_today
from app.extensions import db
from app.logbook.services import fingerprint_of
from app.models import (
    Attendance,
    Commune,
    Household,
    SessionStatus,
    Team,
    Topic,
    TrainingSession,
    User,
    Village,
    VillageKind,
)
from app.models.audit import record
from app.places.services import load_communes
from app.progress import tallies
from app.text import fold

LABEL = "(mẫu)"  # every demo village, team and person carries it
SIGN_INS_FILE = "demo-sign-ins.txt"

# Three communes of Đắk Lắk with their villages; buôn carry Ê Đê names.
DEMO_COMMUNES = {
    "24133": (1200, [("Tổ dân phố 3", VillageKind.TO_DAN_PHO), ("Buôn Ako Dhông", VillageKind.BUON),
                     ("Buôn Kmrơng Prông A", VillageKind.BUON)]),
    "24280": (900, [("Buôn Sút M'grư", VillageKind.BUON), ("Thôn 3", VillageKind.THON)]),
    "24373": (800, [("Thôn 1", VillageKind.THON), ("Buôn Ea Kar", VillageKind.BUON)]),
}  # fmt: skip
HEADS = [
    "H'Hen Niê", "Y Bhim Mlô", "H'Yam Êban", "Y Kông Buôn Yă", "H'Ngơm Byă", "Ama Tuyết",
    "Amí Nguyệt", "Y Sơn Knul", "Ksor H'Bia", "Rơ Châm Y Phim", "Nguyễn Văn An", "Trần Thị Bích",
    "Lê Văn Cường", "Đặng Thị Hoà", "Phạm Minh Đức", "Hoàng Thị Lan", "Võ Văn Hùng", "Bùi Thị Mai",
    "Y Rơi Bkrông", "H'Linh Niê Kdăm", "Nguyễn Thị Thu", "Đinh Văn Tâm",
]  # fmt: skip


class DemoRefused(RuntimeError):
    pass


def load_demo(seed: int = 66) -> str:
    """Add the sample data and return the sign-ins as printable text. Commits."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(User)):
        raise DemoRefused("This database already has users; demo data goes only into an empty one.")
    if not db.session.scalar(sa.select(sa.func.count()).select_from(Commune)):
        load_communes(current_app.config["PROVINCE_CODE"])
    rng = random.Random(seed)
    topics = list(db.session.scalars(sa.select(Topic).where(Topic.is_active)))
    accounts: list[tuple[str, str, str]] = []
    people = _make_people_and_places(accounts)
    for volunteer, villages in people:
        for village in villages:
            _make_village_life(rng, village, volunteer, topics)
    tallies.rebuild()
    record(None, "demo.load", object_type="app", changes={"communes": sorted(DEMO_COMMUNES)})
    db.session.commit()
    sign_ins = _sign_ins_text(accounts)
    _sign_ins_path().write_text(sign_ins, encoding="utf-8")
    return sign_ins


def read_saved_sign_ins() -> str:
    path = _sign_ins_path()
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _make_people_and_places(accounts: list) -> list[tuple[User, list[Village]]]:
    """Accounts for every role and a team per demo commune; returns volunteers with their villages."""
    _account(accounts, "0900000001", f"Quản trị viên {LABEL}", "admin")
    _account(accounts, "0900000002", f"Cán bộ Sở {LABEL}", "province")
    volunteers = []
    for number, (code, (target, villages)) in enumerate(DEMO_COMMUNES.items(), start=1):
        commune = db.session.scalar(sa.select(Commune).where(Commune.code == code))
        commune.target_households = target
        _account(accounts, f"09000001{number:02d}", f"Cán bộ xã {number} {LABEL}", "officer", code)
        made = [Village(commune=commune, name=f"{name} {LABEL}", folded_name=fold(f"{name} {LABEL}"), kind=kind)
                for name, kind in villages]  # fmt: skip
        team = Team(commune=commune, name=f"Tổ CNS {commune.name} {LABEL}", villages=made)
        db.session.add(team)
        for seat in range(2):
            volunteer = _account(accounts, f"09000002{number}{seat}", f"Tình nguyện viên {number}.{seat + 1} {LABEL}",
                                 "volunteer", code)  # fmt: skip
            volunteer.team = team
            volunteers.append((volunteer, made[seat::2]))
    db.session.flush()
    return volunteers


def _account(accounts: list, phone: str, name: str, role: str, commune_code: str | None = None) -> User:
    """A demo user with a fresh random password: no account ever has a known default one."""
    alphabet = string.ascii_lowercase + string.digits
    password = "mau-" + "".join(secrets.choice(alphabet) for _ in range(8))
    accounts.append((role, phone, password))
    return create_user(phone=phone, full_name=name, role=role, password=password, commune_code=commune_code)


def _make_village_life(rng: random.Random, village: Village, volunteer: User, topics: list[Topic]) -> None:
    """Households in the village and sessions over the last four months; some not yet reached."""
    households = [
        Household(commune_id=village.commune_id, village=village, head_name=head, head_name_folded=fold(head),
                  address=f"Số {rng.randint(1, 120)}", created_by_id=volunteer.id,
                  phone=f"09{rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.5 else None)
        for head in rng.sample(HEADS, 14)
    ]  # fmt: skip
    db.session.add_all(households)
    reached = households[:10]
    today = local_today()
    db.session.flush()
    for _ in range(6):
        status = rng.choices(list(SessionStatus), weights=[5, 4, 1, 1])[0]
        attended = rng.sample(reached, rng.randint(1, 5))
        payload = {
            "uuid": str(uuid.uuid4()),
            "date": (today - timedelta(days=rng.randint(0, 120))).isoformat(),
            "village_id": village.id,
            "topics": [topic.code for topic in rng.sample(topics, rng.randint(1, 3))],
            "households": [{"id": household.id} for household in attended],
            "language": rng.choice(["vi", "vi", "ede"]),
            "attendees": rng.randint(2, 12),
        }
        session = TrainingSession(
            uuid=payload["uuid"],
            fingerprint=fingerprint_of(payload),
            held_on=date.fromisoformat(payload["date"]),
            commune_id=village.commune_id,
            village=village,
            team=volunteer.team,
            volunteer=volunteer,
            language=payload["language"],
            attendees=payload["attendees"],
            status=status,
            topics=[topic for topic in topics if topic.code in payload["topics"]],
            review_note="Số hộ chưa khớp với danh sách của thôn" if status == SessionStatus.NEEDS_REVIEW else None,
            attendances=[Attendance(household=household) for household in attended],
        )
        db.session.add(session)


def _sign_ins_text(accounts: list[tuple[str, str, str]]) -> str:
    width = max(len(role) for role, _, _ in accounts)
    return "\n".join(f"  {role:<{width}}  {phone}  {password}" for role, phone, password in accounts) + "\n"


def _sign_ins_path() -> Path:
    path = Path(current_app.instance_path)
    path.mkdir(parents=True, exist_ok=True)
    return path / SIGN_INS_FILE
