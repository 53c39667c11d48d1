"""The data model, one module per part of the domain. Import models from here."""

from app.models.api_tokens import ApiToken, TokenScope
from app.models.audit import AuditEvent
from app.models.households import Household
from app.models.imports import PendingImport
from app.models.places import Commune, CommuneKind, Team, Village, VillageKind, team_village
from app.models.sign_ins import SignIn, SignInFailure
from app.models.tallies import (
    COUNTER_TABLES,
    ActivityTally,
    CommuneDay,
    CommuneMonth,
    CommuneTopicTally,
    ReachTally,
    VillageTally,
    learned_topic,
)
from app.models.topics import SEED_TOPICS, Topic
from app.models.training import (
    Attendance,
    InstructionLanguage,
    SessionStatus,
    TrainingSession,
    session_topic,
)
from app.models.users import Role, User

__all__ = [
    "COUNTER_TABLES",
    "SEED_TOPICS",
    "ActivityTally",
    "ApiToken",
    "Attendance",
    "AuditEvent",
    "Commune",
    "CommuneDay",
    "CommuneKind",
    "CommuneMonth",
    "CommuneTopicTally",
    "Household",
    "InstructionLanguage",
    "PendingImport",
    "ReachTally",
    "Role",
    "SessionStatus",
    "SignIn",
    "SignInFailure",
    "Team",
    "TokenScope",
    "Topic",
    "TrainingSession",
    "User",
    "Village",
    "VillageKind",
    "VillageTally",
    "learned_topic",
    "session_topic",
    "team_village",
]
