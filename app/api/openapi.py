"""The OpenAPI 3.1 description of API v1, served at /api/v1/openapi.json.

It is written by hand next to the code it describes, and tests/test_api_schema.py holds the two
together: schemathesis sends generated requests to every operation and checks each answer
against this document, and tests/test_api_read.py checks real answers against it.
"""

from flask import current_app

from app.api.feed import DEFAULT_LIMIT, MAX_LIMIT
from app.logbook.services import MAX_ATTENDEES, MAX_HOUSEHOLDS, MAX_NOTES
from app.models import CommuneKind, InstructionLanguage, SessionStatus, VillageKind


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _error(description: str, headers: dict | None = None) -> dict:
    return _json(_ref("Error"), description, headers)


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict, description: str | None = None) -> dict:
    """A JSON object with exactly these properties, all of them always present."""
    schema = {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


INTEGER = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0}
ID = {"type": "integer", "minimum": 1}
TEXT = {"type": "string"}
UUID = {"type": "string", "format": "uuid"}
DAY = {"type": "string", "format": "date"}
MOMENT = {"type": "string", "format": "date-time"}
AS_OF = {**MOMENT, "description": "When the figures were read (UTC). The figures are live."}

# Answers every operation may give.
BAD_REQUEST = _error("The request is malformed (for example, it carries a NUL character).")
UNAUTHORIZED = _error(
    "Not signed in, or the API token is wrong, revoked or expired. A token request never falls back to the cookie.",
    {"WWW-Authenticate": {"description": "`Bearer` when a token was refused.", "schema": TEXT}},
)
FORBIDDEN = _error(
    "The caller may not do this: the role or the token's scope does not include it, or a token asked to write."
)
NOT_FOUND = _error("No such object, or it belongs to a commune the caller may not see (the two look the same).")
TOO_MANY = _error(
    "The token made more requests this minute than it may (API_TOKEN_RATE_PER_MINUTE, 120 by default).",
    {"Retry-After": {"description": "Seconds until the next minute starts.", "schema": {"type": "integer"}}},
)
INVALID = _error("Bad input: each parameter or field named in `errors` with what is wrong with it.")


def _read_responses(ok: dict, *extra: tuple[str, dict]) -> dict:
    return {"200": ok, "400": BAD_REQUEST, "401": UNAUTHORIZED, "403": FORBIDDEN, "429": TOO_MANY, **dict(extra)}


COMMUNE_FIGURES = {
    "code": {**TEXT, "description": "The commune's official 2025 code."},
    "name": TEXT,
    "kind": {"enum": [kind.value for kind in CommuneKind], "description": "xa (commune) or phuong (ward)."},
    "target": COUNT,
    "trained": COUNT,
    "registered": COUNT,
    "last_session_on": _nullable({**DAY, "description": "Date of the last session that counts."}),
}

SCHEMAS = {
    "ErrorMessages": {
        "type": "object",
        "description": "Messages in the caller's language, by field. Problems with the request as a whole are "
        "under `request`; errors about a new household of a session are keyed `households.<index>.<field>`.",
        "additionalProperties": {"type": "array", "items": TEXT, "minItems": 1},
    },
    "Error": _object({"errors": _ref("ErrorMessages")}, "Every error of the API has this shape."),
    "SessionConflict": {
        "type": "object",
        "description": "The uuid was already used for a session with other content. `session_id` names it "
        "when the caller may see it.",
        "required": ["errors"],
        "properties": {"errors": _ref("ErrorMessages"), "session_id": ID},
        "additionalProperties": False,
    },
    "ProvinceFigures": _object(
        {
            "code": {**TEXT, "description": "The province's official code (PROVINCE_CODE)."},
            "target": {**COUNT, "description": "Households the province must train."},
            "trained": {
                **COUNT,
                "description": "Households trained: attended at least one session that is "
                "neither rejected nor deleted, counted once.",
            },
            "registered": {**COUNT, "description": "Households in the registry (deleted ones excluded)."},
        }
    ),
    "CommuneFigures": _object(COMMUNE_FIGURES),
    "VillageFigures": _object(
        {
            "id": ID,
            "name": TEXT,
            "kind": {"enum": [kind.value for kind in VillageKind]},
            "registered": COUNT,
            "trained": COUNT,
            "not_reached": {**COUNT, "description": "Registered households not trained yet."},
        }
    ),
    "Progress": _object(
        {
            "as_of": AS_OF,
            "province": _ref("ProvinceFigures"),
            "communes": {"type": "array", "items": _ref("CommuneFigures")},
        }
    ),
    "CommuneList": _object({"as_of": AS_OF, "communes": {"type": "array", "items": _ref("CommuneFigures")}}),
    "CommuneDetail": _object(
        {
            "as_of": AS_OF,
            **COMMUNE_FIGURES,
            "villages": {"type": "array", "items": _ref("VillageFigures")},
            "topics": {
                "type": "array",
                "description": "Households of the commune trained in each topic.",
                "items": _object({"code": TEXT, "trained": COUNT}),
            },
        }
    ),
    "TopicList": _object(
        {
            "as_of": AS_OF,
            "topics": {
                "type": "array",
                "items": _object(
                    {
                        "code": TEXT,
                        "name_vi": TEXT,
                        "name_en": TEXT,
                        "is_active": {"type": "boolean"},
                        "trained": {**COUNT, "description": "Households trained in this topic, in the caller's scope."},
                    }
                ),
            },
        }
    ),
    "FeedSession": _object(
        {
            "id": ID,
            "uuid": UUID,
            "date": DAY,
            "commune_code": TEXT,
            "village_id": ID,
            "team_id": _nullable(ID),
            "topics": {"type": "array", "items": TEXT, "description": "Topic codes (GET /topics)."},
            "households": {
                "type": "array",
                "description": "The households that attended, by id and uuid only: no personal data.",
                "items": _object({"id": ID, "uuid": UUID}),
            },
            "status": {"enum": [status.value for status in SessionStatus]},
            "counts": {"type": "boolean", "description": "Whether the session counts: neither rejected nor deleted."},
            "language": _nullable({"enum": [language.value for language in InstructionLanguage]}),
            "attendees": _nullable(COUNT),
            "created_at": MOMENT,
            "updated_at": MOMENT,
            "deleted": {"type": "boolean", "description": "Deleted (softly, it may come back): drop it from a mirror."},
            "deleted_at": _nullable(MOMENT),
        },
        "A session as the feed gives it.",
    ),
    "SessionFeed": _object(
        {
            "sessions": {"type": "array", "items": _ref("FeedSession")},
            "next_cursor": {**TEXT, "description": "Pass as `cursor` to continue after this page."},
            "has_more": {"type": "boolean", "description": "Whether more changes are ready now."},
        }
    ),
    "NewSession": {
        "type": "object",
        "required": ["uuid", "date", "village_id", "topics", "households"],
        "properties": {
            "uuid": {**UUID, "description": "Made by the client; the same uuid is saved once."},
            "date": DAY,
            "village_id": ID,
            "topics": {"type": "array", "items": TEXT, "minItems": 1},
            "households": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_HOUSEHOLDS,
                "items": {
                    "oneOf": [
                        _object({"id": ID}),
                        {
                            "type": "object",
                            "required": ["uuid", "head_name"],
                            "properties": {"uuid": UUID, "head_name": TEXT, "address": TEXT, "phone": TEXT},
                            "additionalProperties": False,
                        },
                    ]
                },
            },
            "language": _nullable({"enum": [language.value for language in InstructionLanguage]}),
            "attendees": _nullable({"type": "integer", "minimum": 0, "maximum": MAX_ATTENDEES}),
            "notes": _nullable({"type": "string", "maxLength": MAX_NOTES}),
        },
    },
    "Session": _object(
        {
            "id": ID,
            "uuid": UUID,
            "date": DAY,
            "village_id": ID,
            "commune_code": TEXT,
            "topics": {"type": "array", "items": TEXT},
            "households": {"type": "array", "items": _object({"id": ID, "uuid": UUID, "head_name": TEXT})},
            "language": _nullable({"enum": [language.value for language in InstructionLanguage]}),
            "attendees": _nullable(COUNT),
            "notes": _nullable(TEXT),
            "status": {"enum": [status.value for status in SessionStatus]},
            "volunteer_id": ID,
        },
        "A saved session, as its commune's staff see it.",
    ),
    "HouseholdSearch": _object(
        {
            "households": {
                "type": "array",
                "items": _object(
                    {
                        "id": ID,
                        "head_name": TEXT,
                        "address": _nullable(TEXT),
                        "phone": {**TEXT, "description": "Masked: 0912 *** 678, or empty."},
                    }
                ),
            }
        }
    ),
    "OfflinePack": _object(
        {
            "csrf_token": TEXT,
            "topics": {"type": "array", "items": _object({"code": TEXT, "name": TEXT})},
            "villages": {"type": "array", "items": _object({"id": ID, "name": TEXT})},
            "households": {
                "type": "array",
                "items": _object(
                    {"id": ID, "uuid": UUID, "village_id": ID, "head_name": TEXT, "folded": TEXT, "address": TEXT}
                ),
            },
        }
    ),
}

DESCRIPTION = """\
Figures and sessions of the province's digital-skills training, for other systems.

**Tokens.** An admin makes a token at /admin/api-tokens, for the whole province or for one
commune, and sees it once. Send it as `Authorization: Bearer kns_…`. Tokens only read: a
write with a token answers 403. A commune token sees its own commune only; every other
commune answers 404, as if it did not exist. Each token may make {rate} requests a minute;
past that the answer is 429 with `Retry-After`.

**Signed-in people** (the app's own pages and its offline outbox) send the session cookie
instead, and for writes the CSRF token as `X-CSRFToken`. They see what their dashboards show.

**Errors** always have one shape: `{{"errors": {{"field": ["message", …]}}}}`; errors about the
request as a whole are under `request`.

**Mirroring the sessions.** GET /sessions gives every change to the sessions in scope, oldest
change first, ordered by (`updated_at`, `id`). Start without a cursor (or with
`updated_since`), then pass each page's `next_cursor` as `cursor`; while `has_more` is true
there is more to read now, and later calls with the last cursor give what changed since. The
cursor is opaque and stable: paging never skips or repeats a change, even when many sessions
share one `updated_at`. A session comes again each time it changes (edited, verified,
rejected, deleted, restored): keep the latest by `uuid`. Deleted sessions come with
`deleted: true` and `deleted_at`. A change shows in the feed once it is
{settle} seconds old, so a write still being saved is never paged past. The feed carries no
names, addresses or phone numbers.

**Figures** come from the same counting rule as the dashboards: a household is trained when
it attended at least one session that is neither rejected nor deleted, counted once.
"""


def document() -> dict:
    """The OpenAPI 3.1 document of API v1."""
    config = current_app.config
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kỹ năng số cộng đồng API",
            "version": "1.0.0",
            "description": DESCRIPTION.format(
                rate=config["API_TOKEN_RATE_PER_MINUTE"], settle=config["API_FEED_SETTLE_SECONDS"]
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerToken": []}, {"sessionCookie": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token made by an admin (read-only; province or one commune).",
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "A signed-in person's session cookie.",
                },
                "csrfToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRFToken",
                    "description": 'With the cookie, for writes: the page\'s <meta name="csrf-token">.',
                },
            },
        },
    }


PATHS = {
    "/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This document",
            "security": [],
            "responses": {"200": _json({"type": "object"}, "The OpenAPI 3.1 document."), "400": BAD_REQUEST,
                          "401": UNAUTHORIZED, "429": TOO_MANY},
        }
    },
    "/progress": {
        "get": {
            "operationId": "getProgress",
            "summary": "The province against its target, and every commune",
            "description": "For province-wide callers (province token, province staff, admins).",
            "responses": _read_responses(_json(_ref("Progress"), "The figures.")),
        }
    },
    "/communes": {
        "get": {
            "operationId": "listCommunes",
            "summary": "The communes the caller may see, with their figures",
            "description": "Every commune for province-wide callers; their own commune for a commune token or officer.",
            "responses": _read_responses(_json(_ref("CommuneList"), "The communes, by name.")),
        }
    },
    "/communes/{code}": {
        "get": {
            "operationId": "getCommune",
            "summary": "One commune: its figures, each village's, and per topic",
            "parameters": [
                {"name": "code", "in": "path", "required": True, "schema": TEXT,
                 "description": "The commune's official code, e.g. 24133."},
            ],
            "responses": _read_responses(_json(_ref("CommuneDetail"), "The commune."), ("404", NOT_FOUND)),
        }
    },
    "/topics": {
        "get": {
            "operationId": "listTopics",
            "summary": "Every topic, with the households trained in it",
            "responses": _read_responses(_json(_ref("TopicList"), "Active topics first.")),
        }
    },
    "/sessions": {
        "get": {
            "operationId": "sessionFeed",
            "summary": "Every change to the sessions in scope, for mirroring",
            "description": "See *Mirroring the sessions* above.",
            "parameters": [
                {"name": "cursor", "in": "query", "schema": TEXT,
                 "description": "`next_cursor` of the previous page."},
                {"name": "updated_since", "in": "query", "schema": MOMENT,
                 "description": "Start with the sessions changed at or after this time (without a time zone: "
                                "UTC). Not together with `cursor`."},
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
            ],
            "responses": _read_responses(_json(_ref("SessionFeed"), "One page."), ("422", INVALID)),
        },
        "post": {
            "operationId": "logSession",
            "summary": "Log a session (signed-in volunteers and officers; what the offline outbox sends)",
            "security": [{"sessionCookie": [], "csrfToken": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewSession")}}},
            "responses": {
                "201": _json(_ref("Session"), "Saved."),
                "200": _json(_ref("Session"), "The same uuid and content again: the session saved before."),
                "400": _error("The CSRF token is missing or wrong, or the request is malformed."),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": _error("The village or a household belongs to a commune the caller may not see."),
                "409": _json(_ref("SessionConflict"), "The uuid was used for other content."),
                "413": _error("The body is larger than the server accepts."),
                "422": INVALID,
                "429": TOO_MANY,
            },
        },
    },
    "/households": {
        "get": {
            "operationId": "searchHouseholds",
            "summary": "Households of one village matching a search (the session form's live search)",
            "security": [{"sessionCookie": []}],
            "parameters": [
                {"name": "village_id", "in": "query", "required": True, "schema": ID},
                {"name": "q", "in": "query", "schema": TEXT, "description": "Part of the name or phone number."},
            ],
            "responses": _read_responses(
                _json(_ref("HouseholdSearch"), "The matching households, phone numbers masked."),
                ("404", NOT_FOUND),
                ("422", INVALID),
            ),
        }
    },
    "/offline-pack": {
        "get": {
            "operationId": "offlinePack",
            "summary": "What the session form needs offline, and a fresh CSRF token",
            "security": [{"sessionCookie": []}],
            "responses": _read_responses(_json(_ref("OfflinePack"), "Topics, villages and households.")),
        }
    },
}  # fmt: skip
