import unicodedata
from datetime import date

import pytest
import sqlalchemy as sa
from markupsafe import escape

from app.clock import utcnow
from app.extensions import db
from app.households.services import search_households, topics_learned
from app.models import AuditEvent, Household, SessionStatus, Topic
from tests.conftest import COMMUNE_A, COMMUNE_B

PHONE = "0912345678"
MASKED = "0912 *** 678"
NOT_A_PHONE = "Đây không phải là số điện thoại Việt Nam hợp lệ."
NAME_TOO_LONG = "Họ tên phải có từ 1 đến 120 ký tự."


def shows(response, text: str) -> bool:
    """Whether the page shows the text (as Jinja escapes it: H'Hen is H&#39;Hen in the HTML)."""
    return str(escape(text)) in response.get_data(as_text=True)


def section(response, css_class: str, end: str = "</ul>") -> str:
    """The HTML from the first element with this class up to `end`."""
    page = response.get_data(as_text=True)
    return page.split(f'class="{css_class}"', 1)[1].split(end, 1)[0]


@pytest.fixture
def village_a(make_village):
    return make_village("Buôn Ako Dhông", COMMUNE_A)


@pytest.fixture
def village_b(make_village):
    return make_village("Thôn 3", COMMUNE_B)


@pytest.fixture
def volunteer_a(make_user):
    return make_user("volunteer", COMMUNE_A, full_name="Y Bhim Mlô")


@pytest.fixture
def officer_a(make_user):
    return make_user("officer", COMMUNE_A, full_name="Trần Thị Bích")


@pytest.fixture
def officer_b(make_user):
    return make_user("officer", COMMUNE_B)


@pytest.fixture
def province(make_user):
    return make_user("province")


@pytest.fixture
def household_a(make_household, village_a):
    return make_household(village_a, "Nguyễn Văn An", address="Số 12", phone=PHONE)


@pytest.fixture
def household_b(make_household, village_b):
    return make_household(village_b, "Lê Văn Cường", phone="0987654321")


@pytest.fixture
def make_session(make_session):
    """Sessions held on 2 March 2026 and verified, unless told otherwise."""

    def make(village, volunteer, households, topic_codes, status=SessionStatus.VERIFIED, **fields):
        fields.setdefault("held_on", date(2026, 3, 2))
        return make_session(village, volunteer, households, topic_codes, status=status, **fields)

    return make


def topic_name(code: str) -> str:
    return db.session.scalar(sa.select(Topic.name_vi).where(Topic.code == code))


def audit_rows() -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.update")))


class TestBrowse:
    @pytest.mark.parametrize(
        ("typed", "found"),
        [
            ("nguyen van", "Nguyễn Văn An"),
            ("NGUYỄN", "Nguyễn Văn An"),
            ("hhen", "H'Hen Niê"),
            ("h'hen", "H'Hen Niê"),
            ("dang", "Đặng Thị Hoà"),
            ("hòa", "Đặng Thị Hoà"),  # new-style tone placement finds the old-style name
            ("0912 345", "Nguyễn Văn An"),
        ],
    )
    def test_search_ignores_accents_case_and_apostrophes(
        self, client, auth, volunteer_a, village_a, make_household, typed, found
    ):
        make_household(village_a, "Nguyễn Văn An", phone=PHONE)
        make_household(village_a, "H'Hen Niê")
        make_household(village_a, "Đặng Thị Hoà")
        auth.login(volunteer_a)
        response = client.get("/households", query_string={"q": typed})
        assert response.status_code == 200
        shown = [name for name in ("Nguyễn Văn An", "H'Hen Niê", "Đặng Thị Hoà") if shows(response, name)]
        assert shown == [found]

    def test_volunteer_sees_only_their_communes_households(self, client, auth, volunteer_a, household_a, household_b):
        auth.login(volunteer_a)
        response = client.get("/households")
        assert shows(response, "Nguyễn Văn An")
        assert not shows(response, "Lê Văn Cường")
        assert not shows(response, "Thôn 3")  # not even in the village choices

    def test_village_filter_lists_that_village_only(
        self, client, auth, volunteer_a, village_a, make_village, make_household
    ):
        other = make_village("Tổ dân phố 3", COMMUNE_A, kind="to_dan_pho")
        make_household(village_a, "Nguyễn Văn An")
        make_household(other, "Hoàng Thị Lan")
        auth.login(volunteer_a)
        response = client.get("/households", query_string={"village": other.id})
        assert shows(response, "Hoàng Thị Lan")
        assert not shows(response, "Nguyễn Văn An")
        assert f'<option selected value="{other.id}">' in response.get_data(as_text=True)

    @pytest.mark.parametrize("village", ["other-commune", "999999", "abc", "٣"])
    def test_village_filter_outside_the_commune_answers_404(self, client, auth, volunteer_a, village_b, village):
        auth.login(volunteer_a)
        value = village_b.id if village == "other-commune" else village
        assert client.get("/households", query_string={"village": value}).status_code == 404

    def test_province_staff_read_every_commune(self, client, auth, province, household_a, household_b, village_b):
        auth.login(province)
        response = client.get("/households")
        assert shows(response, "Nguyễn Văn An") and shows(response, "Lê Văn Cường")
        # The village choices are grouped under their commune.
        assert '<optgroup label="Xã Hòa Phú">' in response.get_data(as_text=True)
        response = client.get("/households", query_string={"village": village_b.id})
        assert shows(response, "Lê Văn Cường") and not shows(response, "Nguyễn Văn An")
        assert client.get(f"/households/{household_b.id}").status_code == 200

    def test_search_without_a_village_covers_what_the_user_may_see(
        self, client, auth, officer_a, province, village_a, village_b, make_village, make_household
    ):
        other = make_village("Tổ dân phố 3", COMMUNE_A, kind="to_dan_pho")
        make_household(village_a, "Nguyễn Văn An")
        make_household(other, "Nguyễn Thị Lan")
        make_household(other, "Nguyễn Văn Gone", deleted_at=utcnow())
        make_household(village_b, "Nguyễn Văn Ba")
        make_household(village_a, "Trần Văn Bình")
        for user, found in [
            (officer_a, ["Nguyễn Thị Lan", "Nguyễn Văn An"]),  # both villages of the commune, by name
            (province, ["Nguyễn Thị Lan", "Nguyễn Văn An", "Nguyễn Văn Ba"]),
        ]:
            auth.login(user)
            response = client.get("/households", query_string={"q": "nguyen"})
            listed = section(response, "records").split('class="record-title"')[1:]
            assert [row.split(">", 1)[1].split("<", 1)[0] for row in listed] == found, user.role
            assert "Số hộ tìm thấy: " + str(len(found)) in response.get_data(as_text=True), user.role
            auth.logout()

    def test_phone_is_masked_for_volunteers_and_province_and_shown_to_officers(
        self, client, auth, volunteer_a, officer_a, province, household_a
    ):
        for user, shown, hidden in [
            (volunteer_a, MASKED, PHONE),
            (province, MASKED, PHONE),
            (officer_a, PHONE, MASKED),
        ]:
            auth.login(user)
            for url in ("/households", f"/households/{household_a.id}"):
                response = client.get(url)
                assert shows(response, shown), (user.role, url)
                assert not shows(response, hidden), (user.role, url)
            auth.logout()

    def test_trained_households_are_marked(self, client, auth, volunteer_a, village_a, make_household, make_session):
        trained = make_household(village_a, "Nguyễn Văn An")
        rejected_only = make_household(village_a, "Trần Văn Bình")
        make_session(village_a, volunteer_a, [trained], ["vneid"])
        make_session(village_a, volunteer_a, [rejected_only], ["vneid"], status=SessionStatus.REJECTED)
        auth.login(volunteer_a)
        rows = client.get("/households").get_data(as_text=True).split('<li class="record">')[1:]
        marked = {("Nguyễn Văn An" in row, "Trần Văn Bình" in row): "badge-ok" in row for row in rows}
        assert marked == {(True, False): True, (False, True): False}

    def test_deleted_households_are_not_listed_or_shown(self, client, auth, officer_a, household_a):
        household_a.deleted_at = utcnow()
        db.session.commit()
        auth.login(officer_a)
        assert not shows(client.get("/households"), "Nguyễn Văn An")
        # The officer may still open it, to restore it, but not edit it.
        assert client.get(f"/households/{household_a.id}").status_code == 200
        assert client.get(f"/households/{household_a.id}/edit").status_code == 404

    def test_pages_of_fifty_keep_the_filters(self, client, auth, volunteer_a, village_a):
        db.session.add_all(
            Household(
                commune_id=village_a.commune_id, village=village_a, head_name=f"Hộ số {n:02d}",
                head_name_folded=f"ho so {n:02d}",
            )
            for n in range(1, 53)
        )  # fmt: skip
        db.session.commit()
        auth.login(volunteer_a)
        first = client.get("/households", query_string={"village": village_a.id, "q": "ho so"})
        assert shows(first, "Hộ số 50") and not shows(first, "Hộ số 51")
        page = first.get_data(as_text=True)
        assert f'href="/households?page=2&amp;village={village_a.id}&amp;q=ho+so"' in page
        second = client.get("/households", query_string={"village": village_a.id, "q": "ho so", "page": 2})
        assert shows(second, "Hộ số 51") and shows(second, "Hộ số 52") and not shows(second, "Hộ số 50")

    def test_sign_in_is_needed(self, client, household_a):
        for url in ("/households", f"/households/{household_a.id}", f"/households/{household_a.id}/edit"):
            response = client.get(url)
            assert response.status_code == 302
            assert response.headers["Location"].startswith("/login")

    def test_home_page_links_to_the_registry(self, client, auth, volunteer_a):
        auth.login(volunteer_a)
        assert 'href="/households"' in client.get("/").get_data(as_text=True)


class TestDetail:
    def test_lists_sessions_attended_and_topics_learned(
        self, client, auth, volunteer_a, village_a, household_a, make_household, make_session
    ):
        neighbour = make_household(village_a, "H'Hen Niê")
        make_session(village_a, volunteer_a, [household_a, neighbour], ["vneid", "cashless"], held_on=date(2026, 3, 2))
        make_session(
            village_a,
            volunteer_a,
            [household_a],
            ["ecommerce"],
            status=SessionStatus.REJECTED,
            held_on=date(2026, 4, 5),
        )
        make_session(village_a, volunteer_a, [household_a], ["e_health"], held_on=date(2026, 5, 6), deleted_at=utcnow())
        make_session(village_a, volunteer_a, [neighbour], ["online_safety"], held_on=date(2026, 6, 7))

        auth.login(volunteer_a)
        response = client.get(f"/households/{household_a.id}")
        assert response.status_code == 200
        assert shows(response, "Nguyễn Văn An") and shows(response, "Số 12")

        sessions = section(response, "records", end="</main>")  # the last list on the page
        assert "02/03/2026" in sessions and "05/04/2026" in sessions
        assert "06/05/2026" not in sessions  # deleted
        assert "07/06/2026" not in sessions  # the neighbour's alone
        assert "Y Bhim Mlô" in sessions
        assert "Đã xác nhận" in sessions and "Từ chối" in sessions
        assert str(escape(topic_name("ecommerce"))) in sessions  # a rejected session still shows what it taught

        learned = section(response, "topics-learned")
        assert str(escape(topic_name("vneid"))) in learned
        assert str(escape(topic_name("cashless"))) in learned
        assert str(escape(topic_name("ecommerce"))) not in learned  # rejected
        assert str(escape(topic_name("e_health"))) not in learned  # deleted
        assert str(escape(topic_name("online_safety"))) not in learned  # not this household's
        assert 'class="badge badge-ok"' in response.get_data(as_text=True)

    def test_topics_learned_come_from_counting_sessions_only(
        self, app, volunteer_a, village_a, household_a, make_session
    ):
        make_session(village_a, volunteer_a, [household_a], ["vneid"], status=SessionStatus.PENDING)
        make_session(village_a, volunteer_a, [household_a], ["cashless"], status=SessionStatus.NEEDS_REVIEW)
        make_session(village_a, volunteer_a, [household_a], ["vneid", "ecommerce"], status=SessionStatus.REJECTED)
        make_session(village_a, volunteer_a, [household_a], ["e_health"], deleted_at=utcnow())
        codes = [topic.code for topic in db.session.scalars(topics_learned(household_a))]
        assert codes == ["vneid", "cashless"]  # each once, in the topics' order

    def test_household_of_another_commune_answers_404(self, client, auth, volunteer_a, officer_a, household_b):
        for user in (volunteer_a, officer_a):
            auth.login(user)
            assert client.get(f"/households/{household_b.id}").status_code == 404
            auth.logout()
        auth.login(volunteer_a)
        assert client.get("/households/999999").status_code == 404
        assert client.get("/households/99999999999999999999").status_code == 404  # beyond any database integer

    def test_edit_link_only_for_officers(self, client, auth, volunteer_a, officer_a, household_a):
        edit_url = f'href="/households/{household_a.id}/edit"'
        auth.login(volunteer_a)
        assert edit_url not in client.get(f"/households/{household_a.id}").get_data(as_text=True)
        auth.logout()
        auth.login(officer_a)
        assert edit_url in client.get(f"/households/{household_a.id}").get_data(as_text=True)


class TestEdit:
    def test_officer_edits_and_the_change_is_audited(self, client, auth, officer_a, household_a):
        auth.login(officer_a)
        form = client.get(f"/households/{household_a.id}/edit").get_data(as_text=True)
        assert 'value="Nguyễn Văn An"' in form and f'value="{PHONE}"' in form  # filled from the household

        typed_name = unicodedata.normalize("NFD", "  Nguyễn   Văn Bình ")
        response = client.post(
            f"/households/{household_a.id}/edit",
            data={"head_name": typed_name, "address": "Số 12", "phone": "+84 987 111 222"},
        )
        assert response.status_code == 302
        assert response.headers["Location"] == f"/households/{household_a.id}"

        db.session.refresh(household_a)
        assert household_a.head_name == "Nguyễn Văn Bình"
        assert household_a.head_name_folded == "nguyen van binh"
        assert household_a.address == "Số 12"
        assert household_a.phone == "0987111222"
        [event] = audit_rows()
        assert event.actor_id == officer_a.id
        assert event.object_id == str(household_a.id)
        assert event.commune_id == household_a.commune_id
        assert event.changes == {
            "head_name": ["Nguyễn Văn An", "Nguyễn Văn Bình"],
            "phone": [PHONE, "0987111222"],
        }  # the address did not change
        assert shows(client.get(response.headers["Location"]), "Nguyễn Văn Bình")

    def test_clearing_address_and_phone_stores_nothing(self, client, auth, officer_a, household_a):
        auth.login(officer_a)
        response = client.post(
            f"/households/{household_a.id}/edit", data={"head_name": "Nguyễn Văn An", "address": "  ", "phone": ""}
        )
        assert response.status_code == 302
        db.session.refresh(household_a)
        assert (household_a.address, household_a.phone) == (None, None)
        assert audit_rows()[0].changes == {"address": ["Số 12", None], "phone": [PHONE, None]}

    def test_saving_unchanged_details_writes_no_audit_row(self, client, auth, officer_a, household_a):
        auth.login(officer_a)
        response = client.post(
            f"/households/{household_a.id}/edit",
            data={"head_name": "Nguyễn Văn An", "address": "Số 12", "phone": "0912 345 678"},
        )
        assert response.status_code == 302
        assert audit_rows() == []

    @pytest.mark.parametrize("role", ["volunteer", "province", "admin"])
    def test_only_officers_edit(self, client, auth, make_user, household_a, role):
        auth.login(make_user(role, COMMUNE_A))
        url = f"/households/{household_a.id}/edit"
        assert client.get(url).status_code == 403
        assert client.post(url, data={"head_name": "Đổi tên", "address": "", "phone": ""}).status_code == 403
        db.session.refresh(household_a)
        assert household_a.head_name == "Nguyễn Văn An"
        assert audit_rows() == []

    def test_officer_of_another_commune_gets_404(self, client, auth, officer_b, household_a):
        auth.login(officer_b)
        url = f"/households/{household_a.id}/edit"
        assert client.get(url).status_code == 404
        assert client.post(url, data={"head_name": "Đổi tên", "address": "", "phone": ""}).status_code == 404
        db.session.refresh(household_a)
        assert household_a.head_name == "Nguyễn Văn An"

    @pytest.mark.parametrize(
        ("field", "typed", "message"),
        [
            ("head_name", "", None),
            ("head_name", "   ", None),
            ("head_name", "a" * 121, NAME_TOO_LONG),
            ("address", "x" * 201, None),
            ("phone", "12345", NOT_A_PHONE),
            ("phone", "0912 345", NOT_A_PHONE),
        ],
    )
    def test_bad_input_is_shown_again_and_nothing_is_saved(
        self, client, auth, officer_a, household_a, field, typed, message
    ):
        auth.login(officer_a)
        data = {"head_name": "Nguyễn Văn Bình", "address": "Số 99", "phone": "0987111222", field: typed}
        response = client.post(f"/households/{household_a.id}/edit", data=data)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert f'id="{field}-error"' in page  # the message sits next to the field
        assert 'aria-invalid="true"' in page
        if message:
            assert message in page
        if typed.strip():
            assert f'value="{typed.strip()}"' in page  # what was typed stays typed
        assert 'value="Số 99"' in page or field == "address"
        db.session.refresh(household_a)
        assert (household_a.head_name, household_a.address, household_a.phone) == ("Nguyễn Văn An", "Số 12", PHONE)
        assert audit_rows() == []


class TestSearchHouseholds:
    @pytest.fixture
    def registry(self, village_a, village_b, make_household):
        return {
            "an": make_household(village_a, "Nguyễn Văn An", phone=PHONE),
            "hen": make_household(village_a, "H'Hen Niê", phone="0387000111"),
            "hoa": make_household(village_a, "Đặng Thị Hoà"),
            "b": make_household(village_b, "Nguyễn Văn Ba", phone="0912345999"),
        }

    @staticmethod
    def names(village_ids, query, **kw) -> list[str]:
        return [h.head_name for h in db.session.scalars(search_households(village_ids, query, **kw))]

    def test_words_in_any_order_and_only_the_villages_asked(self, registry, village_a):
        assert self.names([village_a.id], "an nguyen") == ["Nguyễn Văn An"]
        assert self.names([village_a.id], "") == ["Đặng Thị Hoà", "H'Hen Niê", "Nguyễn Văn An"]  # by folded name
        assert self.names([], "nguyen") == []

    @pytest.mark.parametrize(
        ("typed", "found"),
        [
            ("0912", ["Nguyễn Văn An", "Nguyễn Văn Ba"]),
            ("345 678", ["Nguyễn Văn An"]),
            ("0912.345.999", ["Nguyễn Văn Ba"]),
            ("+84 912 345 678", ["Nguyễn Văn An"]),  # the whole number in international form
            ("84912345999", ["Nguyễn Văn Ba"]),
            ("0387-000", ["H'Hen Niê"]),
        ],
    )
    def test_digits_search_the_phone_number(self, registry, village_a, village_b, typed, found):
        assert self.names([village_a.id, village_b.id], typed) == found

    @pytest.mark.parametrize("typed", ["%", "_", "%%", " _ ", "0912_45", "0912%78", "09__345"])
    def test_like_wildcards_are_not_wildcards(self, registry, village_a, village_b, typed):
        assert self.names([village_a.id, village_b.id], typed) == []

    def test_a_select_of_village_ids_and_the_limit(self, registry, village_a):
        village_ids = sa.select(sa.literal(village_a.id))
        assert self.names(village_ids, "") == ["Đặng Thị Hoà", "H'Hen Niê", "Nguyễn Văn An"]
        assert self.names([village_a.id], "", limit=2) == ["Đặng Thị Hoà", "H'Hen Niê"]
