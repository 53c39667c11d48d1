"""The floor of the logging benchmark (bench/minimal_app.py, bench/logging.py): a one-row
endpoint that exists only in the bench's app and meets the same sign-in and CSRF checks as
POST /api/v1/sessions, so logging throughput is judged against the same stack."""

import uuid

import pytest

from app.extensions import db
from bench import minimal_app
from bench.load import csrf_token_of
from tests.conftest import PASSWORD, IsolatedClient


@pytest.fixture
def bench_app(app):
    """The bench's app on the test database, CSRF on as in production, with its one-row
    table while the test runs (the table is not the app's: the migrations never make it)."""
    bench = minimal_app.build_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    bench.test_client_class = IsolatedClient
    minimal_app.create_table(bench)
    yield bench
    with bench.app_context():
        minimal_app.one_row.drop(db.engine)
        db.engine.dispose()


def signed_in(bench_app, volunteer):
    """A browser of the bench app, signed in through the login form: (client, CSRF token)."""
    client = bench_app.test_client()
    token = csrf_token_of(client.get("/login").data)
    response = client.post("/login", data={"phone": volunteer.phone, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client, csrf_token_of(client.get("/").data)


def saved(bench_app) -> dict[str, int]:
    return minimal_app.saved_rows(bench_app)


def test_the_production_app_has_no_one_row_endpoint(app, client, bench_app):
    assert minimal_app.PATH not in {rule.rule for rule in app.url_map.iter_rules()}
    assert minimal_app.PATH in {rule.rule for rule in bench_app.url_map.iter_rules()}
    assert client.post(minimal_app.PATH, json={"uuid": str(uuid.uuid4())}).status_code == 404


def test_one_row_is_inserted_for_a_signed_in_volunteer_with_the_csrf_token(bench_app, volunteer):
    client, token = signed_in(bench_app, volunteer)
    key = str(uuid.uuid4())

    response = client.post(minimal_app.PATH, json={"uuid": key}, headers={"X-CSRFToken": token})

    assert response.status_code == 201
    assert response.get_json()["uuid"] == key
    assert saved(bench_app) == {key: 1}


def test_the_one_row_endpoint_refuses_what_the_session_api_refuses(bench_app, volunteer, make_user):
    anonymous = bench_app.test_client()
    token = csrf_token_of(anonymous.get("/login").data)
    refused = anonymous.post(minimal_app.PATH, json={"uuid": str(uuid.uuid4())}, headers={"X-CSRFToken": token})
    assert refused.status_code in (302, 401)  # not signed in

    client, token = signed_in(bench_app, volunteer)
    assert client.post(minimal_app.PATH, json={"uuid": str(uuid.uuid4())}).status_code == 400  # no CSRF token
    assert client.post(minimal_app.PATH, data="[1, 2", headers={"X-CSRFToken": token}).status_code == 422

    province, province_token = signed_in(bench_app, make_user("province"))
    refused = province.post(minimal_app.PATH, json={"uuid": str(uuid.uuid4())}, headers={"X-CSRFToken": province_token})
    assert refused.status_code == 403  # province staff do not log sessions
    assert saved(bench_app) == {}
