"""The figures the JSON API gives, as plain dicts. Every figure comes from the counting module
(app/progress/tallies.py), so the API and the dashboards can never disagree."""

from flask import current_app

from app.auth.access import sees_whole_province
from app.clock import local_today, utcnow
from app.models import Commune
from app.progress import tallies


def as_of() -> str:
    """When the figures were read (they are live counters, so: now)."""
    return utcnow().isoformat()


def province_progress(caller) -> dict:
    """The province against its target, and every commune the caller may see."""
    trained, registered = tallies.province_figures()
    return {
        "as_of": as_of(),
        "province": {
            "code": str(current_app.config["PROVINCE_CODE"]),
            "target": current_app.config["TARGET_HOUSEHOLDS"],
            "trained": trained,
            "registered": registered,
        },
        "communes": communes_figures(caller),
    }


def communes_figures(caller) -> list[dict]:
    """Each commune the caller may see (by name): target, trained, registered, last session."""
    ids = None if sees_whole_province(caller) else [caller.commune_id]
    today = local_today()
    return [_commune_json(row) for row in tallies.commune_rows(today, today, ids)]


def commune_detail(commune: Commune) -> dict:
    """One commune's figures, each village's, and trained households per topic."""
    today = local_today()
    row = tallies.commune_rows(today, today, [commune.id])[0]
    return {
        "as_of": as_of(),
        **_commune_json(row),
        "villages": [
            {
                "id": village_row["village"].id,
                "name": village_row["village"].name,
                "kind": village_row["village"].kind,
                "registered": village_row["registered"],
                "trained": village_row["trained"],
                "not_reached": village_row["registered"] - village_row["trained"],
            }
            for village_row in tallies.village_rows(commune.id)
        ],
        "topics": [{"code": topic.code, "trained": trained} for topic, trained in tallies.topic_rows(commune.id)],
    }


def topics_figures(caller) -> dict:
    """Every topic with the households trained in it: in the province, or in the caller's
    commune when the caller belongs to one."""
    commune_id = None if sees_whole_province(caller) else caller.commune_id
    return {
        "as_of": as_of(),
        "topics": [
            {
                "code": topic.code,
                "name_vi": topic.name_vi,
                "name_en": topic.name_en,
                "is_active": topic.is_active,
                "trained": trained,
            }
            for topic, trained in tallies.topic_rows(commune_id)
        ],
    }


def _commune_json(row: tallies.CommuneRow) -> dict:
    return {
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "target": row.target,
        "trained": row.trained,
        "registered": row.registered,
        "last_session_on": row.last_session_on.isoformat() if row.last_session_on else None,
    }
