"""Open data (issue 9): anyone can download the figures per commune, and no household or person
can be found in them."""

import csv
import io
import itertools
import random
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.clock import local_today, utcnow
from app.extensions import db
from app.models import SessionStatus, SignIn
from app.opendata import suppression
from app.opendata.services import DICTIONARY, MONTH_COLUMN
from app.progress import services as dashboards
from tests.conftest import COMMUNE_A, COMMUNE_B

COMMUNE_C = "22291"  # Xã Hòa Xuân: two trained households
COMMUNE_D = "24169"  # Phường Ea Kao: exactly five
URLS = ("/open-data", "/open-data/communes.csv", "/open-data/communes.json")
PEOPLE = {
    # head of household: (phone, address)
    "H'Hen Niê": ("0912345678", "Số 4 đường Y Jút"),
    "Nguyễn Thị Lành": ("0987654321", "Tổ 3, nhà 12"),
    "Y Khu Ksơr": ("0905111222", "Buôn Kô Sir"),
    "Trần Văn Bốn": ("0911222333", None),
    "Lò Thị Hai": ("0933444555", None),
}
VOLUNTEERS = {
    "Y Bhim Mlô": "0977000111", "H'Yam Êban": "0977000222", "Đinh Thị Ba": "0977000333", "Ksor H'Nga": "0977000444",
}  # fmt: skip


@pytest.fixture
def province(communes, make_user, make_village, make_household, make_session):
    """Trained households: 7 in commune A, 4 in B, 2 in C, 5 in D; every other commune none.
    Commune A also has one household not yet reached and a rejected session."""
    communes[COMMUNE_A].target_households = 2000
    communes[COMMUNE_B].target_households = 300
    communes[COMMUNE_D].target_households = 10
    db.session.commit()
    made = {"households": [], "volunteers": []}
    today = local_today()
    last_month = today.replace(day=1) - timedelta(days=1)

    def trained(commune_code: str, count: int, volunteer_name: str, village_name: str, *, earlier: int = 0):
        village = make_village(village_name, commune_code)
        volunteer = make_user("volunteer", commune_code, full_name=volunteer_name, phone=VOLUNTEERS[volunteer_name])
        made["volunteers"].append(volunteer)
        # Commune A's households carry real-looking names, phones and addresses; the others are numbered.
        people = list(PEOPLE.items()) if commune_code == COMMUNE_A else []
        people += [(f"Hộ số {n} {village_name}", (None, None)) for n in range(count)]
        households = [
            make_household(village, name, phone=phone, address=address) for name, (phone, address) in people[:count]
        ]
        made["households"].extend(households)
        make_session(village, volunteer, households[earlier:], held_on=today)
        if earlier:
            make_session(village, volunteer, households[:earlier], held_on=last_month)
        return village, volunteer

    village_a, volunteer_a = trained(COMMUNE_A, 7, "Y Bhim Mlô", "Buôn Ako Dhông", earlier=3)
    not_reached = make_household(village_a, "Hộ chưa tiếp cận", phone="0966777888", address="Cuối buôn")
    made["households"].append(not_reached)
    make_session(village_a, volunteer_a, [not_reached], status=SessionStatus.REJECTED)
    trained(COMMUNE_B, 4, "H'Yam Êban", "Thôn Hòa Phú 1")
    trained(COMMUNE_C, 2, "Đinh Thị Ba", "Thôn Hòa Xuân 2")
    trained(COMMUNE_D, 5, "Ksor H'Nga", "Buôn Ea Kao")
    return made


def json_rows(client) -> tuple[dict, dict]:
    document = client.get("/open-data/communes.json").get_json()
    return document, {row["code"]: row for row in document["communes"]}


def csv_rows(client) -> list[dict]:
    data = client.get("/open-data/communes.csv").data
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def page_row(page: str, name: str) -> list[str]:
    """The cells of the first table's row headed by this commune or ward."""
    row = re.search(rf"<th scope=\"row\">{re.escape(name)}</th>(.*?)</tr>", page, re.S)
    assert row, f"{name} is not in the page"
    return [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


class TestPublic:
    @pytest.mark.parametrize("url", URLS)
    def test_anyone_gets_it_without_signing_in_or_a_cookie(self, client, communes, url):
        response = client.get(url)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        assert response.headers["Cache-Control"] == "public, max-age=60"
        assert "<script" not in response.get_data(as_text=True)

    def test_an_answer_that_sets_a_cookie_is_never_shared(self, client, auth, make_user):
        """A visitor whose sign-in has ended elsewhere: this request clears their cookie, so
        the answer is theirs alone, and a shared cache must not hand that cookie to others."""
        auth.login(make_user("volunteer"))
        db.session.execute(sa.update(SignIn).values(ended_at=utcnow()))
        db.session.commit()
        response = client.get("/open-data")
        assert response.status_code == 200
        assert "Set-Cookie" in response.headers
        assert response.headers["Cache-Control"] == "no-store"

    def test_the_files_are_downloads_readable_from_other_sites(self, client, communes):
        response = client.get("/open-data/communes.csv")
        assert response.mimetype == "text/csv"
        assert re.fullmatch(
            r'attachment; filename="du-lieu-mo-ky-nang-so-\d{4}-\d\d-\d\d\.csv"',
            response.headers["Content-Disposition"],
        )
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert client.get("/open-data/communes.json").mimetype == "application/json"

    def test_other_addresses_under_open_data_are_not_cached(self, client, communes):
        response = client.get("/open-data/communes.xml")
        assert response.status_code == 404
        assert response.headers["Cache-Control"] == "no-store"

    def test_sign_in_page_and_layout_link_to_it(self, client, auth, make_user):
        assert 'href="/open-data"' in client.get("/login").get_data(as_text=True)
        auth.login(make_user("volunteer"))
        assert 'href="/open-data"' in client.get("/").get_data(as_text=True)


class TestNoPersonalData:
    def test_no_name_phone_address_or_identifier_anywhere(self, client, province):
        texts = {url: client.get(url).get_data(as_text=True) for url in URLS}
        secrets = []
        for household in province["households"]:
            secrets += [household.head_name, household.uuid, household.address, household.phone]
        for volunteer in province["volunteers"]:
            secrets += [volunteer.full_name, volunteer.phone]
        secrets += ["Buôn Ako Dhông", "Thôn Hòa Phú 1"]  # villages are not published either
        secrets = [secret for secret in secrets if secret]
        spaced = [f"{phone[:4]} {phone[4:7]} {phone[7:]}" for phone in secrets if phone.isdigit()]
        for url, text in texts.items():
            unescaped = text.replace("&#39;", "'").replace("&amp;", "&")
            found = [secret for secret in secrets + spaced if secret in unescaped]
            assert found == [], f"{url} shows {found}"

    def test_a_signed_in_visitor_sees_the_same_page_without_their_name(self, client, auth, province):
        volunteer = province["volunteers"][0]
        auth.login(volunteer)
        page = client.get("/open-data").get_data(as_text=True)
        assert volunteer.full_name not in page.replace("&#39;", "'")
        assert 'name="csrf-token"' not in page


class TestSmallCounts:
    def test_four_is_hidden_and_five_is_not(self, client, communes, province):
        _document, rows = json_rows(client)
        assert rows[COMMUNE_B]["trained"] == "<5"
        assert rows[COMMUNE_B]["share_percent"] is None  # with the target of 300 it would give 4 away
        assert rows[COMMUNE_C]["trained"] == "<5"
        assert rows[COMMUNE_D]["trained"] == 5
        assert rows[COMMUNE_D]["share_percent"] == 50.0
        assert rows[COMMUNE_A]["trained"] == 7
        assert rows[COMMUNE_A]["share_percent"] == 0.4
        by_code = {row["code"]: row for row in csv_rows(client)}
        assert (by_code[COMMUNE_B]["trained"], by_code[COMMUNE_B]["share_percent"]) == ("<5", "")
        assert (by_code[COMMUNE_D]["trained"], by_code[COMMUNE_D]["share_percent"]) == ("5", "50.0")
        page = client.get("/open-data").get_data(as_text=True)
        assert page_row(page, "Xã Hòa Phú") == ["300", "&lt;5", "–"]
        assert page_row(page, "Phường Ea Kao") == ["10", "5", "50,0%"]

    def test_the_hidden_counts_cannot_be_worked_out_from_the_total(self, client, communes, province):
        document, rows = json_rows(client)
        published = sum(row["trained"] for row in rows.values() if isinstance(row["trained"], int))
        hidden = [row for row in rows.values() if isinstance(row["trained"], str)]
        assert document["province"]["trained"] - published == 6  # 4 + 2: both stay between 1 and 4
        assert {row["trained"] for row in hidden} == {"<5"}

    def test_a_lone_small_commune_is_covered_by_the_next_smallest(self, client, communes, province):
        """Only commune B small (C's two households deleted): the total minus the others would
        give B's 4 away, so D, the smallest published, is hidden too, as ">=5"."""
        from app.models import Household
        from app.progress import tallies

        for household in province["households"]:
            if household.commune_id == communes[COMMUNE_C].id:
                db.session.get(Household, household.id).deleted_at = local_today()
                tallies.refresh_households([household.id])
        db.session.commit()
        _document, rows = json_rows(client)
        assert rows[COMMUNE_B]["trained"] == "<5"
        assert rows[COMMUNE_C]["trained"] == "<5"  # none now: zero is below five too
        assert rows[COMMUNE_D]["trained"] == ">=5"
        assert rows[COMMUNE_D]["share_percent"] is None
        assert rows[COMMUNE_A]["trained"] == 7

    def test_session_counts_are_never_hidden(self, client, communes, province):
        _document, rows = json_rows(client)
        this_month = f"sessions_{local_today():%Y_%m}"
        assert rows[COMMUNE_B][this_month] == 1
        assert rows[COMMUNE_C][this_month] == 1


class TestSameFiguresAsTheDashboard:
    def test_totals_equal_the_province_dashboard(self, app, client, communes, province):
        document, rows = json_rows(client)
        today = local_today()
        with app.test_request_context():
            dashboard = dashboards.province_dashboard(today - timedelta(days=29), today)
        assert document["province"]["trained"] == dashboard.totals["trained"] == dashboard.headline.trained == 18
        assert document["province"]["target"] == dashboard.totals["target"] == 2310
        assert document["province_target"] == dashboard.headline.target == 257959
        assert document["province"]["share_percent"] == round(dashboard.totals["share"] * 100, 1)
        total_row = csv_rows(client)[-1]
        assert (total_row["kind"], total_row["trained"], total_row["target"]) == ("tinh", "18", "2310")
        for code, row in rows.items():
            dashboard_row = next(r for r in dashboard.communes if r.code == code)
            assert row["target"] == dashboard_row.target
            if isinstance(row["trained"], int):
                assert row["trained"] == dashboard_row.trained

    def test_the_pages_show_the_same_totals(self, client, auth, make_user, province):
        def footer(page: str) -> list[str]:
            tfoot = re.search(r"<tfoot>(.*?)</tfoot>", page, re.S).group(1)
            return [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", tfoot, re.S)]

        open_data = footer(client.get("/open-data").get_data(as_text=True))
        auth.login(make_user("province"))
        progress = footer(client.get("/progress").get_data(as_text=True))
        assert open_data[:3] == progress[:3] == ["2.310", "18", "0,8%"]  # target, trained, share

    def test_sessions_per_month_count_what_the_rule_counts(self, client, communes, province):
        document, rows = json_rows(client)
        today = local_today()
        this_month = f"sessions_{today:%Y_%m}"
        last_month = f"sessions_{today.replace(day=1) - timedelta(days=1):%Y_%m}"
        assert document["months"][-2:] == [last_month[9:].replace("_", "-"), this_month[9:].replace("_", "-")]
        assert (rows[COMMUNE_A][last_month], rows[COMMUNE_A][this_month]) == (1, 1)  # the rejected one is not
        assert document["province"][this_month] == 4
        assert document["province"][last_month] == 1


class TestFiles:
    def test_csv_has_the_bom_the_documented_columns_and_a_row_per_commune(self, client, communes, province):
        document, _rows = json_rows(client)
        rows = csv_rows(client)
        months = [f"sessions_{month.replace('-', '_')}" for month in document["months"]]
        assert list(rows[0]) == ["code", "name", "kind", "target", "trained", "share_percent", *months]
        assert len(rows) == len(communes) + 1
        assert {row["kind"] for row in rows[:-1]} == {"xa", "phuong"}
        assert rows[-1]["name"] == "Tỉnh Đắk Lắk"
        assert any(row["name"] == "Phường Buôn Ma Thuột" for row in rows)

    def test_json_rows_follow_the_dictionary(self, client, communes, province):
        document, _rows = json_rows(client)
        fields = {entry["name"]: entry for entry in document["dictionary"]}
        assert set(fields) == {entry.name for entry in DICTIONARY}
        assert len(document["months"]) == 12
        assert all(fields[name]["vi"]["meaning"] and fields[name]["en"]["meaning"] for name in fields)
        month_keys = {f"sessions_{month.replace('-', '_')}" for month in document["months"]}
        for row in [document["province"], *document["communes"]]:
            assert set(row) == (set(fields) - {MONTH_COLUMN}) | month_keys
            for key, value in row.items():
                entry = fields[MONTH_COLUMN if key in month_keys else key]
                assert json_type(value) in entry["json_types"], (key, value)
                if isinstance(value, str) and "integer" in entry["json_types"]:
                    assert value in entry["marks"], (key, value)
        assert document["licence"] == {"name": "CC BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", document["as_of"])

    def test_the_licence_is_a_setting(self, app, client, communes):
        app.config.update(OPEN_DATA_LICENCE="ODC-By 1.0", OPEN_DATA_LICENCE_URL="https://example.org/odc-by")
        assert client.get("/open-data/communes.json").get_json()["licence"]["name"] == "ODC-By 1.0"
        page = client.get("/open-data").get_data(as_text=True)
        assert '<a href="https://example.org/odc-by" rel="license">ODC-By 1.0</a>' in page


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string"}[type(value)]


class TestPage:
    def test_vietnamese_by_default_with_vietnamese_numbers(self, client, communes, province):
        page = client.get("/open-data").get_data(as_text=True)
        assert '<html lang="vi">' in page
        assert "257.959" in page and "Xã, phường" in page
        assert page_row(page, "Phường Buôn Ma Thuột") == ["2.000", "7", "0,4%"]
        assert 'href="/open-data/communes.csv"' in page and 'href="/open-data/communes.json"' in page
        assert "CC BY 4.0" in page

    def test_english_by_link(self, client, communes, province):
        page = client.get("/open-data?lang=en").get_data(as_text=True)
        assert '<html lang="en">' in page
        assert "257,959" in page and "Commune or ward" in page
        assert page_row(page, "Buôn Ma Thuột ward") == ["2,000", "7", "0.4%"]
        assert "How it is counted" in page and "neither rejected nor deleted" in page

    def test_the_visitors_chosen_language_without_a_link(self, client, communes):
        client.post("/language", data={"locale": "en", "next": "/open-data"})
        assert '<html lang="en">' in client.get("/open-data").get_data(as_text=True)
        assert '<html lang="vi">' in client.get("/open-data?lang=vi").get_data(as_text=True)

    @pytest.mark.parametrize("lang", ["fr", "", "x" * 500, "en'><script>"])
    def test_an_unknown_language_falls_back_to_vietnamese(self, client, communes, lang):
        response = client.get("/open-data", query_string={"lang": lang})
        assert response.status_code == 200
        assert '<html lang="vi">' in response.get_data(as_text=True)

    def test_an_empty_province_publishes_zeros_hidden(self, client, communes):
        document, rows = json_rows(client)
        assert document["province"]["trained"] == "<5"
        assert {row["trained"] for row in rows.values()} == {"<5"}
        assert client.get("/open-data").status_code == 200


# ---------------------------------------------------------------------------------------------
# The suppression rule on its own, against a reader who tries every possibility


def possible_values(counts: dict, hidden: dict) -> dict[str, set[int]]:
    """For each hidden unit, every value it could have for a reader who knows the published
    counts, the total, which hidden counts are zero, and what each mark means."""
    units = sorted(hidden)
    total = sum(counts[unit] for unit in units)
    choices = []
    for unit in units:
        if hidden[unit] == suppression.FIVE_OR_MORE:
            choices.append(range(5, total + 1))
        else:
            choices.append([0] if counts[unit] == 0 else range(1, 5))
    seen = {unit: set() for unit in units}
    for values in itertools.product(*choices):
        if sum(values) == total:
            for unit, value in zip(units, values, strict=True):
                seen[unit].add(value)
    return seen


CASES = [
    ({"a": 3, "b": 10, "c": 20}, {"a": "<5", "b": ">=5"}),
    ({"a": 4, "b": 4, "c": 9, "d": 30}, {"a": "<5", "b": "<5", "c": ">=5"}),
    ({"a": 1, "b": 1, "c": 12, "d": 12}, {"a": "<5", "b": "<5", "c": ">=5"}),
    ({"a": 1, "b": 5, "c": 5, "d": 6, "e": 50}, {"a": "<5", "b": ">=5", "c": ">=5", "d": ">=5"}),
    ({"a": 2, "b": 3, "c": 8}, {"a": "<5", "b": "<5"}),
    ({"a": 0, "b": 0, "c": 7}, {"a": "<5", "b": "<5"}),  # zeros give nobody away
    ({"a": 5, "b": 6}, {}),
]


@pytest.mark.parametrize(("counts", "expected"), CASES)
def test_suppression_cases(counts, expected):
    assert suppression.hidden_counts(counts) == expected


def test_no_hidden_count_can_be_worked_out_exactly():
    generator = random.Random(9)
    for _ in range(300):
        counts = {f"u{n}": generator.choice([0, 1, 2, 3, 4, 5, 5, 6, 7, 9, 14]) for n in range(generator.randint(2, 6))}
        hidden = suppression.hidden_counts(counts)
        assert all(hidden.get(unit) == suppression.FEWER_THAN_FIVE for unit, c in counts.items() if c < 5)
        if len(hidden) == len(counts):
            continue  # everything hidden: nothing to subtract from
        for unit, values in possible_values(counts, hidden).items():
            if counts[unit]:
                assert len(values) > 1, (counts, hidden, unit, values)
