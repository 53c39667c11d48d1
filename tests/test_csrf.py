"""CSRF: every POST route of the app (read from its URL map) refuses a request without a token
and writes nothing; the same request with the page's token gets past the check.

A page form whose token is missing may come back filled in (303 to the same page, through the
sign-in page for a signed-out caller; app/forms_recovery.py) instead of the 400 page; either
way nothing is written. Under /api/ the answer is always a JSON 400 {"errors": {...}}.

Each request carries a body that would write if it were accepted, so "nothing written" means
something: the test shows that the same body with the token does write.
"""

import io
from urllib.parse import urlsplit

import pytest

from app import create_app
from app.clock import local_today
from tests.conftest import PASSWORD
from tests.test_access_matrix import CALLERS, OK, ROWS, body_text, requests_for
from tests.two_communes import changed_tables, snapshot

EXPIRED_FORM = ("The form has expired", "Biểu mẫu đã hết hạn", "reload the page", "tải lại trang")


def post_rules() -> list[str]:
    """Every POST route, from the URL map of an app made only to read it."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    return sorted(rule.rule for rule in app.url_map.iter_rules() if "POST" in rule.methods)


POST_RULES = post_rules()


def writing_body(rule: str, two_communes) -> dict:
    """A body that writes when the request is accepted: {"data": form} or {"json": body}.
    Routes not listed here get an empty form (their row in the access table says they are
    harmless that way)."""
    village_a = two_communes["objects"]["village_id"][0]
    household_a = two_communes["objects"]["household_id"][0]
    today = local_today().isoformat()
    people = two_communes["people"]
    bodies = {
        "/login": {"data": {"phone": people["officer_a"].phone, "password": PASSWORD}},
        "/language": {"data": {"locale": "en"}},
        "/account/password": {
            "data": {"current_password": PASSWORD, "new_password": "mot-mat-khau-moi", "confirm": "mot-mat-khau-moi"}
        },
        "/sessions/new": {
            "data": {
                "uuid": "2f1d8f8e-7c55-4b61-9a3e-0c2b5d6e7f80",
                "date": today,
                "village_id": str(village_a),
                "topics": ["vneid"],
                "household_ids": [str(household_a)],
                "action": "save",
            }
        },
        "/sessions/<int:session_id>/edit": {
            "data": {
                "date": today,
                "village_id": str(village_a),
                "topics": ["cashless"],
                "household_ids": [str(household_a)],
                "notes": "Đã sửa",
                "action": "save",
            }
        },
        "/sessions/<int:session_id>/review": {"data": {"decision": "verify"}},
        "/households/<int:household_id>/edit": {
            "data": {"head_name": "H'Hen Niê Kđăm", "address": "Số 3", "phone": "0912 345 678"}
        },
        "/progress/targets": {"data": {"target-24133": "1.234"}},
        "/progress/targets/<code>": {"data": {"target": "4321"}},
        "/imports": {"data": {"file": (io.BytesIO("thon,chu_ho\r\nThôn Mới,Nguyễn Văn Mới\r\n".encode()), "ho.csv")}},
        "/admin/api-tokens/new": {"data": {"name": "Nền tảng tích hợp tỉnh", "scope": "province", "valid_days": "365"}},
        "/api/v1/sessions": {
            "json": {
                "uuid": "7a3e9c1b-5d2f-4e8a-b6c4-1f0e9d8c7b6a",
                "date": today,
                "village_id": village_a,
                "topics": ["vneid"],
                "households": [{"id": household_a}],
            }
        },
    }
    return bodies.get(rule, {"data": {}})


# Routes whose body above writes once the token is there. The others write nothing even when
# accepted: restoring what is not deleted, signing out, a visitor's choice of language.
WRITES_WITH_TOKEN = {
    "/login",
    "/account/password",
    "/sessions/new",
    "/sessions/<int:session_id>/edit",
    "/sessions/<int:session_id>/review",
    "/sessions/<int:session_id>/delete",
    "/households/<int:household_id>/edit",
    "/households/<int:household_id>/delete",
    "/progress/targets",
    "/progress/targets/<code>",
    "/imports",
    "/imports/<token>/confirm",
    "/imports/<token>/cancel",
    "/api/v1/sessions",
    "/admin/api-tokens/new",
    "/admin/api-tokens/<int:api_token_id>/revoke",
}


def fresh(body: dict) -> dict:
    """A copy of a body whose uploaded files can be read again."""
    data = body.get("data")
    if data is None:
        return dict(body)
    return {"data": {key: (io.BytesIO(value[0].getvalue()), value[1]) if isinstance(value, tuple) else value
                     for key, value in data.items()}}  # fmt: skip


def token_of(client) -> str:
    """The CSRF token every page's layout carries for scripts."""
    page = client.get("/").get_data(as_text=True)
    if 'name="csrf-token"' not in page:
        page = client.get("/login").get_data(as_text=True)
    return page.split('name="csrf-token" content="')[1].split('"')[0]


def is_refused_by_csrf(response) -> bool:
    if response.status_code == 303:  # the typed form was kept and the page asked again
        return True
    return response.status_code == 400 and any(words in body_text(response) for words in EXPIRED_FORM)


@pytest.mark.parametrize("rule", POST_RULES)
def test_a_post_without_a_token_is_refused_and_writes_nothing(app, rule, two_communes, callers):
    row = ROWS.get(("POST", rule))
    assert row is not None, f"add a row for POST {rule} to the access table in tests/test_access_matrix.py"
    caller = "anonymous" if row.public else next(c for c in CALLERS if row.expected[c] == OK)
    client = callers[caller]
    _variant, path, _expected = requests_for(row, two_communes)[0]
    body = writing_body(rule, two_communes)
    token = token_of(client)
    app.config["WTF_CSRF_ENABLED"] = True

    before = snapshot()
    response = client.post(path, **fresh(body))
    if rule.startswith("/api/"):
        assert response.status_code == 400, f"{caller} POST {path} without a token: {response.status}"
        assert set(response.get_json()) == {"errors"}
    elif response.status_code == 303:
        back = urlsplit(response.headers["Location"])
        assert back.path == path or (back.path == "/login" and path in back.query), response.headers["Location"]
    else:
        assert response.status_code == 400, f"{caller} POST {path} without a token: {response.status}"
        assert any(words in body_text(response) for words in EXPIRED_FORM)
    assert changed_tables(before) == [], f"POST {path} without a token wrote"

    if "json" in body:
        response = client.post(path, headers={"X-CSRFToken": token}, **fresh(body))
    else:
        response = client.post(path, data={**fresh(body)["data"], "csrf_token": token})
    assert not is_refused_by_csrf(response), f"{caller} POST {path} with the token: {response.status}"
    assert response.status_code < 500
    if rule in WRITES_WITH_TOKEN:
        assert changed_tables(before), f"POST {path} with the token should have written (the body is not harmless)"


def test_the_api_takes_the_token_from_the_header(app, two_communes, callers):
    client = callers["volunteer_a"]
    token = token_of(client)
    app.config["WTF_CSRF_ENABLED"] = True
    body = writing_body("/api/v1/sessions", two_communes)["json"]
    refused = client.post("/api/v1/sessions", json=body, headers={"X-CSRFToken": "not-the-token"})
    assert refused.status_code == 400
    assert "errors" in refused.get_json()
    assert client.post("/api/v1/sessions", json=body, headers={"X-CSRFToken": token}).status_code == 201
