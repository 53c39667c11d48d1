"""API tokens: made by admins and shown once, stored only as a digest, scoped to the province or
one commune, read-only, revoked at once, rate-limited and audited (app/api/tokens.py)."""

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext
from markupsafe import escape

from app.clock import as_utc, utcnow
from app.extensions import db
from app.models import ApiToken, AuditEvent, TrainingSession
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.test_csrf import token_of
from tests.two_communes import changed_tables, snapshot


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def vi(msgid: str, **variables) -> str:
    """A message as a Vietnamese caller reads it (the default language of the app)."""
    with current_app.test_request_context(), force_locale("vi"):
        return gettext(msgid, **variables)


def shows(response, msgid: str, **variables) -> bool:
    return str(escape(vi(msgid, **variables))) in response.get_data(as_text=True)


def audit_rows(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def assert_error(response, status: int) -> list[str]:
    """The API's one error shape; returns the messages."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"errors"}
    messages = [message for field in body["errors"].values() for message in field]
    assert messages and all(isinstance(message, str) and message for message in messages)
    return messages


# ---------------------------------------------------------------------------------------------
# Making tokens (the admin's pages)


@pytest.fixture
def admin_client(client, auth, make_user):
    admin = make_user("admin", full_name="Quản trị viên")
    auth.login(admin)
    return client


def test_a_new_token_is_shown_once_and_stored_only_as_its_digest(admin_client, communes):
    response = admin_client.post(
        "/admin/api-tokens/new",
        data={"name": "  Nền tảng   tích hợp tỉnh ", "scope": "commune", "commune": COMMUNE_A, "valid_days": "90"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    secret = re.search(r'value="(kns_[A-Za-z0-9_-]{40,})"', page).group(1)
    assert shows(
        response,
        "Copy the token now and give it to the system’s operator. It is shown only this once: the app keeps "
        "only a fingerprint of it.",
    )

    token = db.session.scalars(sa.select(ApiToken)).one()
    assert token.name == "Nền tảng tích hợp tỉnh"
    assert (token.scope, token.commune.code) == ("commune", COMMUNE_A)
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(token.prefix) and len(token.prefix) < 12
    stored = db.session.execute(sa.select(*ApiToken.__table__.columns)).one()
    assert not any(secret in str(value) for value in stored)
    assert timedelta(days=89) < token.expires_at - token.created_at <= timedelta(days=90)

    listing = admin_client.get("/admin/api-tokens")
    assert "Nền tảng tích hợp tỉnh" in listing.get_data(as_text=True)
    assert token.prefix in listing.get_data(as_text=True)
    assert secret not in listing.get_data(as_text=True)
    assert shows(listing, "Not used yet")

    (created,) = audit_rows("api_token.create")
    assert created.object_id == str(token.id)
    assert created.changes["scope"] == "commune" and created.changes["commune"] == COMMUNE_A
    assert secret not in str(created.changes)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "   ", "scope": "province", "valid_days": "365"}, "Name the system that will use the token."),
        ({"name": "Hệ thống", "scope": "commune", "commune": "", "valid_days": "365"},
         "Choose the commune or ward the token is for."),
        ({"name": "Hệ thống", "scope": "commune", "commune": "99999", "valid_days": "365"},
         "Choose the commune or ward the token is for."),
        ({"name": "Hệ thống", "scope": "everything", "valid_days": "365"}, "Choose what the token may read."),
        ({"name": "Hệ thống", "scope": "province", "valid_days": "-1"}, "Choose how long the token stays valid."),
    ],
)  # fmt: skip
def test_a_bad_form_makes_no_token_and_says_why(admin_client, communes, form, message):
    response = admin_client.post("/admin/api-tokens/new", data=form)
    assert response.status_code == 422
    assert shows(response, message)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_revoking_takes_effect_at_once(admin_client, make_api_token):
    token, secret = make_api_token()
    assert admin_client.get("/api/v1/progress", headers=bearer(secret)).status_code == 200

    response = admin_client.post(f"/admin/api-tokens/{token.id}/revoke")
    assert response.status_code == 302
    assert_error(admin_client.get("/api/v1/progress", headers=bearer(secret)), 401)
    db.session.refresh(token)
    assert token.revoked_at is not None and token.revoked_by.full_name == "Quản trị viên"
    assert [event.object_id for event in audit_rows("api_token.revoke")] == [str(token.id)]
    assert shows(admin_client.get("/admin/api-tokens"), "Revoked")
    # Revoking again changes nothing and records nothing more.
    admin_client.post(f"/admin/api-tokens/{token.id}/revoke")
    assert len(audit_rows("api_token.revoke")) == 1


def test_revoking_an_unknown_token_is_404(admin_client, communes):
    assert admin_client.post("/admin/api-tokens/999999/revoke").status_code == 404
    assert admin_client.post(f"/admin/api-tokens/{2**40}/revoke").status_code == 404


def test_the_admin_home_links_to_the_tokens(admin_client):
    assert 'href="/admin/api-tokens"' in admin_client.get("/").get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Using tokens


@pytest.mark.parametrize(
    "header",
    [
        "Bearer kns_not-a-token-anyone-made",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "kns_no-scheme",
    ],
)
def test_a_wrong_token_is_401_json(client, make_api_token, header):
    make_api_token()
    response = client.get("/api/v1/progress", headers={"Authorization": header})
    messages = assert_error(response, 401)
    assert messages == [vi("The API token is not valid: it is wrong, revoked or expired.")]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_401(client, make_api_token):
    token, secret = make_api_token(valid_days=30)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert_error(client.get("/api/v1/progress", headers=bearer(secret)), 401)


def test_a_bad_token_never_falls_back_to_the_cookie(client, auth, make_user, make_api_token):
    auth.login(make_user("province"))
    assert client.get("/api/v1/progress").status_code == 200  # the cookie alone works
    assert_error(client.get("/api/v1/progress", headers=bearer("kns_wrong")), 401)


def test_a_token_needs_no_cookie_and_is_not_a_page_sign_in(client, make_api_token):
    _token, secret = make_api_token()
    assert client.get("/api/v1/progress", headers=bearer(secret)).status_code == 200
    # Pages do not take tokens: the province dashboard still asks to sign in.
    page = client.get("/progress", headers=bearer(secret))
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


def test_a_token_cannot_write_even_with_csrf_protection_on(app, client, two_communes, make_api_token):
    _token, secret = make_api_token()
    app.config["WTF_CSRF_ENABLED"] = True
    body = {
        "uuid": "0b8f5b8e-4f0e-4f53-9d0e-3a1c2b4d5e6f",
        "date": utcnow().date().isoformat(),
        "village_id": two_communes["objects"]["village_id"][0],
        "topics": ["vneid"],
        "households": [{"id": two_communes["objects"]["household_id"][0]}],
    }
    before = db.session.scalar(sa.select(sa.func.count()).select_from(TrainingSession))
    messages = assert_error(client.post("/api/v1/sessions", json=body, headers=bearer(secret)), 403)
    assert messages == [vi("API tokens can only read. Sessions are logged by people who sign in.")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TrainingSession)) == before


def test_a_cookie_post_still_needs_the_csrf_token_whatever_else_it_carries(app, two_communes, callers):
    client = callers["volunteer_a"]
    csrf = token_of(client)
    app.config["WTF_CSRF_ENABLED"] = True
    body = {
        "uuid": "5c2d9a3e-1b7f-4c8e-a6d5-2e9f0a1b3c4d",
        "date": utcnow().date().isoformat(),
        "village_id": two_communes["objects"]["village_id"][0],
        "topics": ["vneid"],
        "households": [{"id": two_communes["objects"]["household_id"][0]}],
    }
    before = snapshot()
    assert_error(client.post("/api/v1/sessions", json=body), 400)
    assert changed_tables(before) == []
    assert client.post("/api/v1/sessions", json=body, headers={"X-CSRFToken": csrf}).status_code == 201


class TestScopes:
    @pytest.fixture
    def tokens(self, app, two_communes, make_api_token):
        app.config["API_FEED_SETTLE_SECONDS"] = 0  # the feed shows the sessions just made
        return {
            "province": make_api_token("province")[1],
            "commune_a": make_api_token("commune", COMMUNE_A, name="Hệ thống xã A")[1],
        }

    def test_a_province_token_reads_every_commune(self, client, tokens, two_communes):
        headers = bearer(tokens["province"])
        assert client.get("/api/v1/progress", headers=headers).status_code == 200
        codes = {row["code"] for row in client.get("/api/v1/communes", headers=headers).get_json()["communes"]}
        assert {COMMUNE_A, COMMUNE_B} <= codes and len(codes) == 102
        assert client.get(f"/api/v1/communes/{COMMUNE_B}", headers=headers).status_code == 200
        feed = client.get("/api/v1/sessions", headers=headers).get_json()["sessions"]
        assert {session["commune_code"] for session in feed} == {COMMUNE_A, COMMUNE_B}

    def test_a_commune_token_reads_its_commune_only(self, client, tokens, two_communes):
        headers = bearer(tokens["commune_a"])
        communes = client.get("/api/v1/communes", headers=headers).get_json()["communes"]
        assert [row["code"] for row in communes] == [COMMUNE_A]
        assert client.get(f"/api/v1/communes/{COMMUNE_A}", headers=headers).status_code == 200
        # Another commune is unknown, exactly like a code that does not exist.
        other = client.get(f"/api/v1/communes/{COMMUNE_B}", headers=headers)
        missing = client.get("/api/v1/communes/00000", headers=headers)
        assert_error(other, 404)
        assert other.get_json() == missing.get_json()
        feed = client.get("/api/v1/sessions", headers=headers).get_json()["sessions"]
        assert [session["id"] for session in feed] == [two_communes["objects"]["session_id"][0]]
        # The province dashboard is for province-wide callers.
        assert_error(client.get("/api/v1/progress", headers=headers), 403)

    @pytest.mark.parametrize("path", ["/api/v1/households?village_id={village}", "/api/v1/offline-pack"])
    def test_tokens_do_not_read_personal_data(self, client, tokens, two_communes, path):
        path = path.format(village=two_communes["objects"]["village_id"][0])
        for secret in tokens.values():
            assert_error(client.get(path, headers=bearer(secret)), 403)


# ---------------------------------------------------------------------------------------------
# Rate limit, last use and audit


def test_over_the_rate_limit_answers_429_with_retry_after(app, client, make_api_token):
    app.config["API_TOKEN_RATE_PER_MINUTE"] = 3
    token, secret = make_api_token()
    _other, other_secret = make_api_token(name="Hệ thống khác")
    for _ in range(3):
        assert client.get("/api/v1/topics", headers=bearer(secret)).status_code == 200
    refused = client.get("/api/v1/topics", headers=bearer(secret))
    assert_error(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Counted per token: another token is not slowed down.
    assert client.get("/api/v1/topics", headers=bearer(other_secret)).status_code == 200
    # The next minute starts a new count.
    token.window_started_at = token.window_started_at - timedelta(minutes=1)
    db.session.commit()
    assert client.get("/api/v1/topics", headers=bearer(secret)).status_code == 200


def test_each_request_is_audited_and_moves_last_used(client, make_api_token, communes):
    token, secret = make_api_token("commune", COMMUNE_A)
    assert token.last_used_at is None
    started = utcnow()
    client.get("/api/v1/topics", headers=bearer(secret))
    client.get(f"/api/v1/communes/{COMMUNE_A}?x=1", headers=bearer(secret))
    db.session.refresh(token)
    assert as_utc(token.last_used_at) >= started
    used = audit_rows("api_token.use")
    assert [event.changes["request"] for event in used] == [
        "GET /api/v1/topics",
        f"GET /api/v1/communes/{COMMUNE_A}?x=1",
    ]
    assert {(event.actor_id, event.object_type, event.object_id) for event in used} == {
        (None, "api_token", str(token.id))
    }
    assert {event.commune_id for event in used} == {communes[COMMUNE_A].id}
