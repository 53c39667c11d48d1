"""schemathesis against the published document (/api/v1/openapi.json), in process through the
WSGI app, no network: for every operation, requests that fit the document and requests that do
not, as a province token, a commune token and a signed-in officer. No answer may be a server
error, and every answer must be one the document describes (status, content type, headers,
body schema).

Bounded to stay well under a minute on each database: API_SCHEMA_EXAMPLES examples per
operation, caller and mode (positive, negative).
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import COMMUNE_A
from tests.test_api_tokens import bearer

EXAMPLES = int(os.environ.get("API_SCHEMA_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
bounded = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis folder; each run starts fresh
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def credentials(app, two_communes, make_api_token, callers):
    """What each kind of caller sends: a token header, or a signed-in officer's cookie."""
    app.config["API_FEED_SETTLE_SECONDS"] = 0
    officer_cookie = callers["officer_a"].get_cookie("session").value
    # The app gzips larger answers for clients that accept it; a WSGI test client never unpacks
    # them (an HTTP client would), so ask for plain bodies.
    plain = {"Accept-Encoding": "identity"}
    return {
        "province token": {"headers": {**plain, **bearer(make_api_token("province")[1])}},
        "commune token": {
            "headers": {**plain, **bearer(make_api_token("commune", COMMUNE_A, name="Hệ thống xã A")[1])}
        },
        "officer cookie": {"headers": plain, "cookies": {"session": officer_cookie}},
    }


@pytest.mark.parametrize("caller", ["province token", "commune token", "officer cookie"])
def test_every_operation_answers_as_documented(app, credentials, caller):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8  # every operation of the document, but the document itself
    sent = credentials[caller]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @bounded
            @given(case=operation.as_strategy(generation_mode=mode))
            def answers_as_documented(case):
                case.call_and_validate(checks=CHECKS, **sent)

            answers_as_documented()
