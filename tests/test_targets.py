import re

import pytest
import sqlalchemy as sa
from markupsafe import escape

from app.extensions import db
from app.models import AuditEvent, Commune
from app.progress.target_services import parse_target, targets_summary
from tests.conftest import COMMUNE_A, COMMUNE_B

URL = "/progress/targets"


@pytest.fixture
def province(make_user):
    return make_user("province")


@pytest.fixture
def signed_in(auth, province):
    auth.login(province)
    return province


def set_stored_targets(**by_code: int) -> None:
    for code, value in by_code.items():
        db.session.scalar(sa.select(Commune).where(Commune.code == code)).target_households = value
    db.session.commit()


def stored_targets() -> dict[str, int]:
    return dict(db.session.execute(sa.select(Commune.code, Commune.target_households)).all())


def table_form(**typed: str) -> dict[str, str]:
    """Every commune's input as the page shows it, with some values typed over."""
    form = {f"target-{code}": str(value) for code, value in stored_targets().items()}
    form.update({f"target-{code}": value for code, value in typed.items()})
    return form


def target_audits() -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "commune.set_target")))


def input_tag(response, code: str) -> str:
    page = response.get_data(as_text=True)
    return re.search(rf'<input[^>]*\bname="target-{code}"[^>]*>', page).group(0)


def error_message(raw: str, app) -> str:
    with app.test_request_context(), pytest.raises(ValueError) as caught:
        parse_target(raw)
    return str(caught.value)


@pytest.mark.parametrize("role", ["province", "admin"])
def test_province_staff_and_admin_open_and_save(client, auth, make_user, role):
    auth.login(make_user(role))

    page = client.get(URL)
    assert page.status_code == 200
    assert 'value="0"' in input_tag(page, COMMUNE_B)
    assert "Xã Hòa Phú" in page.get_data(as_text=True)

    response = client.post(URL, data=table_form(**{COMMUNE_B: "1200"}))
    assert response.status_code == 302
    assert response.headers["Location"] == URL
    assert stored_targets()[COMMUNE_B] == 1200
    assert 'class="flash flash-success"' in client.get(URL).get_data(as_text=True)


@pytest.mark.parametrize("role", ["volunteer", "officer"])
@pytest.mark.parametrize(
    ("method", "url"), [("get", URL), ("post", URL), ("get", f"{URL}/{COMMUNE_A}"), ("post", f"{URL}/{COMMUNE_A}")]
)
def test_commune_roles_are_refused(client, auth, make_user, role, method, url):
    auth.login(make_user(role, COMMUNE_A))
    response = getattr(client, method)(url, data={f"target-{COMMUNE_A}": "5", "target": "5"})
    assert response.status_code == 403
    assert stored_targets()[COMMUNE_A] == 0


@pytest.mark.parametrize("url", [URL, f"{URL}/{COMMUNE_A}"])
def test_anonymous_is_sent_to_sign_in(client, communes, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_saving_the_table_writes_only_changed_communes_with_one_audit_row_each(client, signed_in):
    set_stored_targets(**{COMMUNE_A: 100, COMMUNE_B: 200})
    before = stored_targets()

    response = client.post(URL, data=table_form(**{COMMUNE_A: "150", COMMUNE_B: "200"}))

    assert response.status_code == 302
    after = stored_targets()
    assert after[COMMUNE_A] == 150
    assert {code: value for code, value in after.items() if code != COMMUNE_A} == {
        code: value for code, value in before.items() if code != COMMUNE_A
    }
    [audit] = target_audits()
    commune_a = db.session.scalar(sa.select(Commune).where(Commune.code == COMMUNE_A))
    assert audit.actor_id == signed_in.id
    assert audit.object_type == "commune"
    assert audit.object_id == str(commune_a.id)
    assert audit.commune_id == commune_a.id
    assert audit.changes == {"target_households": [100, 150]}


def test_saving_several_communes_commits_them_together(client, signed_in):
    client.post(URL, data=table_form(**{COMMUNE_A: "10", COMMUNE_B: "2.500"}))
    assert stored_targets()[COMMUNE_A] == 10
    assert stored_targets()[COMMUNE_B] == 2500
    assert len(target_audits()) == 2


def test_saving_without_changes_writes_nothing(client, signed_in):
    response = client.post(URL, data=table_form())
    assert response.status_code == 302
    assert target_audits() == []


@pytest.mark.parametrize("bad", ["", "-5", "abc", "1.5", "2000000"])
def test_one_bad_value_saves_nothing_and_keeps_what_was_typed(app, client, signed_in, bad):
    set_stored_targets(**{COMMUNE_A: 100})

    response = client.post(URL, data=table_form(**{COMMUNE_A: "777", COMMUNE_B: bad}))

    assert response.status_code == 422
    assert stored_targets()[COMMUNE_A] == 100
    assert target_audits() == []
    assert 'value="777"' in input_tag(response, COMMUNE_A)
    bad_input = input_tag(response, COMMUNE_B)
    assert f'value="{escape(bad)}"' in bad_input
    assert 'aria-invalid="true"' in bad_input
    assert "aria-invalid" not in input_tag(response, COMMUNE_A)
    page = response.get_data(as_text=True)
    assert f'<p class="error" id="target-{COMMUNE_B}-error">{escape(error_message(bad, app))}</p>' in page
    assert page.count('class="error"') == 1


def test_the_filter_finds_communes_without_accents(client, signed_in):
    page = client.get(URL, query_string={"q": "hoa phu"})
    assert f'name="target-{COMMUNE_B}"' in page.get_data(as_text=True)
    assert f'name="target-{COMMUNE_A}"' not in page.get_data(as_text=True)


def test_a_filtered_table_saves_only_the_communes_shown(client, signed_in):
    response = client.post(f"{URL}?q=hoa+phu", data={f"target-{COMMUNE_B}": "300"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{URL}?q=hoa+phu"
    assert stored_targets()[COMMUNE_B] == 300
    assert sum(stored_targets().values()) == 300


def test_one_commune_at_a_time(client, signed_in):
    set_stored_targets(**{COMMUNE_B: 40})
    page = client.get(f"{URL}/{COMMUNE_B}")
    assert page.status_code == 200
    assert re.search(r'<input[^>]*name="target"[^>]*value="40"', page.get_data(as_text=True))

    response = client.post(f"{URL}/{COMMUNE_B}", data={"target": "1234"})

    assert response.status_code == 302
    assert response.headers["Location"] == URL
    assert stored_targets()[COMMUNE_B] == 1234
    [audit] = target_audits()
    assert audit.changes == {"target_households": [40, 1234]}


@pytest.mark.parametrize("bad", ["", "-5", "abc", "1.5", "2000000"])
def test_one_commune_with_a_bad_value_is_not_saved(app, client, signed_in, bad):
    response = client.post(f"{URL}/{COMMUNE_B}", data={"target": bad})
    assert response.status_code == 422
    assert stored_targets()[COMMUNE_B] == 0
    assert str(escape(error_message(bad, app))) in response.get_data(as_text=True)


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_commune_is_not_found(client, signed_in, method):
    assert getattr(client, method)(f"{URL}/99999", data={"target": "5"}).status_code == 404


def test_no_warning_when_commune_targets_make_the_province_target(app, client, signed_in):
    target = app.config["TARGET_HOUSEHOLDS"]
    set_stored_targets(**{COMMUNE_A: target - 1000, COMMUNE_B: 1000})

    page = client.get(URL).get_data(as_text=True)

    assert "target-mismatch" not in page
    assert 'data-difference="0"' in page
    assert targets_summary().is_balanced


@pytest.mark.parametrize("gap", [-1000, 7])
def test_a_warning_when_commune_targets_do_not_add_up(app, client, signed_in, gap):
    set_stored_targets(**{COMMUNE_A: app.config["TARGET_HOUSEHOLDS"] + gap})

    for url in (URL, f"{URL}/{COMMUNE_A}"):
        page = client.get(url).get_data(as_text=True)
        assert f'class="flash flash-error target-mismatch" data-target-mismatch="{gap}"' in page


def test_the_province_target_is_shown_with_vietnamese_separators(app, client, signed_in):
    app.config["TARGET_HOUSEHOLDS"] = 257959
    assert "257.959" in client.get(URL).get_data(as_text=True)


def test_the_home_page_links_to_targets_for_province_staff_only(client, auth, make_user, signed_in):
    assert f'href="{URL}"' in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(make_user("officer", COMMUNE_A))
    assert f'href="{URL}"' not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("typed", "value"),
    [("0", 0), (" 12 ", 12), ("2.500", 2500), ("257,959", 257959), ("257 959", 257959), ("1000000", 1_000_000)],
)
def test_parse_target_reads_whole_numbers(app, typed, value):
    with app.test_request_context():
        assert parse_target(typed) == value


@pytest.mark.parametrize("typed", ["", "  ", "-5", "-1.500", "abc", "1.5", "2,5", "1e3", "2000000", "1.000.001"])
def test_parse_target_refuses_the_rest(app, typed):
    with app.test_request_context(), pytest.raises(ValueError):
        parse_target(typed)
