from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.clock import local_today
from app.extensions import db
from app.models import Commune, SessionStatus, Team
from app.progress import tallies
from tests.conftest import COMMUNE_A, COMMUNE_B


@pytest.fixture
def setting(make_user, make_village, make_household, make_session, communes):
    """Commune A: two villages, four households, three of them trained; commune B: one trained."""
    communes[COMMUNE_A].target_households = 10
    communes[COMMUNE_B].target_households = 4
    db.session.commit()
    buon = make_village("Buôn Ako Dhông", COMMUNE_A)
    thon = make_village("Thôn 3", COMMUNE_A)
    other = make_village("Thôn Hòa Bình", COMMUNE_B)
    volunteer = make_user("volunteer", COMMUNE_A, full_name="Y Bhim Mlô")
    volunteer.team = Team(commune_id=buon.commune_id, name="Tổ CNS Buôn Ako Dhông", villages=[buon, thon])
    quiet = make_user("volunteer", COMMUNE_A, full_name="H'Linh Niê")
    volunteer_b = make_user("volunteer", COMMUNE_B)
    hen = make_household(buon, "H'Hen Niê", address="Số 4")
    yam = make_household(buon, "H'Yam Êban")
    an = make_household(thon, "Nguyễn Văn An")
    make_household(buon, "Ama Tuyết", address="Số 9")  # never reached
    binh = make_household(other, "Trần Văn Bình")
    today = local_today()
    make_session(buon, volunteer, [hen, yam], ["vneid", "cashless"], held_on=today - timedelta(days=2))
    make_session(thon, volunteer, [an, hen], ["vneid"], held_on=today - timedelta(days=40))
    make_session(buon, volunteer, [yam], ["ecommerce"], status=SessionStatus.REJECTED, held_on=today)
    make_session(other, volunteer_b, [binh], ["online_safety"], held_on=today - timedelta(days=45))
    return {"buon": buon, "thon": thon, "other": other, "volunteer": volunteer, "quiet": quiet}


def commune_id(code: str) -> int:
    return db.session.scalar(sa.select(Commune.id).where(Commune.code == code))


class TestFigures:
    def test_counting_rule(self, setting):
        assert tallies.province_figures() == (4, 5)
        assert tallies.commune_figures(commune_id(COMMUNE_A)) == (3, 4)
        assert tallies.village_progress([setting["buon"].id, setting["thon"].id]) == {
            setting["buon"].id: (2, 3),
            setting["thon"].id: (1, 1),
        }

    def test_topics_count_households_once_and_skip_rejected_sessions(self, setting):
        counts = {topic.code: n for topic, n in tallies.topic_rows(commune_id(COMMUNE_A))}
        assert counts["vneid"] == 3
        assert counts["cashless"] == 2
        assert counts["ecommerce"] == 0  # only taught in the rejected session
        province = {topic.code: n for topic, n in tallies.topic_rows()}
        assert province["online_safety"] == 1

    def test_period_figures(self, setting):
        today = local_today()
        row = next(r for r in tallies.commune_rows(today - timedelta(days=29), today) if r.code == COMMUNE_A)
        # H'Yam was trained for the first time in the period; H'Hen already 40 days ago.
        assert (row.sessions, row.volunteers, row.trained_in_period) == (1, 1, 1)
        assert row.last_session_on == today - timedelta(days=2)
        assert (row.trained, row.registered, row.target) == (3, 4, 10)

    def test_not_reached(self, setting):
        names = [h.head_name for h in db.session.scalars(tallies.not_reached(setting["buon"].id))]
        assert names == ["Ama Tuyết"]


class TestPace:
    @pytest.mark.parametrize(
        ("trained", "target", "per_week", "reached_on", "remaining"),
        [
            (100, 170, 7.0, date(2026, 1, 11), 70),  # 70 left at 1 a day: 70 days
            (100, 171, 7.0, date(2026, 1, 12), 71),
            (100, 100, 7.0, None, 0),  # target met
            (120, 100, 7.0, None, 0),
            (100, 170, 0.0, None, 70),  # no progress
            (0, 257_959, 2.8, None, 257_959),  # more than 20 years away
            (0, 10, 3.0, date(2025, 11, 26), 10),  # 10 * 7 / 3 = 23.3 days, rounded up
        ],
    )
    def test_projection(self, trained, target, per_week, reached_on, remaining):
        pace = tallies.projection(trained, target, date(2025, 11, 2), per_week)
        assert (pace.reached_on, pace.remaining) == (reached_on, remaining)

    def test_pace_counts_households_first_trained_in_the_last_four_weeks(self, setting):
        pace = tallies.pace(3, 10, local_today(), commune_id(COMMUNE_A))
        assert pace.per_week == 1 / 4  # H'Yam, 2 days ago


class TestProvinceDashboard:
    @pytest.fixture
    def province(self, client, auth, make_user):
        auth.login(make_user("province"))
        return client

    def test_headline_table_and_totals(self, province, setting, app):
        page = province.get("/progress").get_data(as_text=True)
        assert "Tiến độ toàn tỉnh" in page
        assert '<p class="big-figure">4 <span>/ 257.959 hộ</span></p>' in page
        assert "Số liệu tính đến" in page
        assert "Phường Buôn Ma Thuột" in page and "Xã Hòa Phú" in page
        assert "Tổng cộng (102 xã, phường)" in page
        totals = page.split("<tfoot>")[1].split("</tfoot>")[0]
        assert '<td class="num">14</td>' in totals  # targets 10 + 4
        assert '<td class="num">4</td>' in totals  # trained

    def test_filter_by_name_without_accents_and_by_kind(self, province, setting):
        page = province.get("/progress?q=buon ma thuot").get_data(as_text=True)
        assert "Tổng cộng (1 xã, phường)" in page
        page = province.get("/progress?kind=phuong").get_data(as_text=True)
        assert "Tổng cộng (14 xã, phường)" in page
        assert "Xã Hòa Phú" not in page.split("<tbody>")[1]

    @pytest.mark.parametrize("direction", ["asc", "desc"])
    def test_sort_by_trained(self, province, setting, direction):
        page = province.get(f"/progress?sort=trained&dir={direction}").get_data(as_text=True)
        body = page.split("<tbody>")[1]
        first = body.index("Phường Buôn Ma Thuột")
        second = body.index("Xã Hòa Phú")
        assert (first < second) == (direction == "desc")

    def test_quiet_communes_stand_out(self, province, setting):
        body = province.get("/progress").get_data(as_text=True).split("<tbody>")[1]
        row_a = body.split("Phường Buôn Ma Thuột")[0].rsplit("<tr", 1)[1]
        row_b = body.split("Xã Hòa Phú")[0].rsplit("<tr", 1)[1]
        assert "quiet" not in row_a
        assert "quiet" in row_b  # its only session was 45 days ago

    def test_period_filter_is_in_the_url_and_bad_dates_are_explained(self, province, setting):
        today = local_today()
        start = (today - timedelta(days=60)).isoformat()
        page = province.get(f"/progress?from={start}&to={today.isoformat()}").get_data(as_text=True)
        assert f'value="{start}"' in page
        page = province.get("/progress?from=2026-13-01").get_data(as_text=True)
        assert "Nhập ngày theo dạng dd/mm/yyyy." in page
        page = province.get(f"/progress?from={today.isoformat()}&to={start}").get_data(as_text=True)
        assert "Ngày kết thúc trước ngày bắt đầu." in page

    def test_trend_chart_is_svg_with_a_text_alternative(self, province, setting):
        page = province.get("/progress").get_data(as_text=True)
        assert '<svg viewBox="0 0 340 170" role="img"' in page
        assert '<title id="trend-title">' in page
        assert page.count("<rect ") == 12
        assert "<summary>Xem số liệu</summary>" in page

    def test_officers_and_volunteers_cannot_see_the_province(self, client, auth, make_user):
        auth.login(make_user("officer", COMMUNE_A))
        assert client.get("/progress").status_code == 403
        auth.logout()
        auth.login(make_user("volunteer", COMMUNE_A))
        assert client.get("/progress").status_code == 403


class TestCommuneDashboard:
    def test_officer_sees_villages_teams_and_quiet_volunteers(self, client, auth, make_user, setting):
        auth.login(make_user("officer", COMMUNE_A))
        page = client.get(f"/progress/communes/{COMMUNE_A}").get_data(as_text=True)
        assert "Phường Buôn Ma Thuột" in page
        assert '<p class="big-figure">3 <span>/ 10 hộ</span></p>' in page
        assert "Buôn Ako Dhông" in page and "Thôn 3" in page
        assert "Tổ CNS Buôn Ako Dhông" in page
        volunteers = page.split("<h2>Tình nguyện viên</h2>")[1]
        assert volunteers.index("H&#39;Linh Niê") < volunteers.index("Y Bhim Mlô")  # the quiet one first
        assert f"/progress/villages/{setting['buon'].id}/not-reached" in page

    def test_officer_of_another_commune_gets_404(self, client, auth, make_user, setting):
        auth.login(make_user("officer", COMMUNE_B))
        assert client.get(f"/progress/communes/{COMMUNE_A}").status_code == 404
        assert client.get(f"/progress/villages/{setting['buon'].id}/not-reached").status_code == 404
        assert client.get(f"/progress/villages/{setting['buon'].id}/not-reached.txt").status_code == 404
        assert client.get("/progress/communes/99999").status_code == 404

    def test_province_staff_see_any_commune(self, client, auth, make_user, setting):
        auth.login(make_user("province"))
        assert client.get(f"/progress/communes/{COMMUNE_B}").status_code == 200

    def test_volunteers_see_only_their_villages_progress_at_home(self, client, auth, setting):
        auth.login(setting["volunteer"])
        assert client.get(f"/progress/communes/{COMMUNE_A}").status_code == 403
        page = client.get("/").get_data(as_text=True)
        assert "2/3 hộ đã được hướng dẫn" in page
        assert "1/1 hộ đã được hướng dẫn" in page


class TestNotReachedLists:
    def test_printable_list(self, app, client, auth, make_user, setting):
        auth.login(make_user("officer", COMMUNE_A))
        page = client.get(f"/progress/villages/{setting['buon'].id}/not-reached").get_data(as_text=True)
        listed = page.split('<table class="print-list">')[1].split("</table>")[0]
        assert "Ama Tuyết" in listed and "Số 9" in listed
        assert "H&#39;Hen Niê" not in listed
        assert "@page { size: A4" in (Path(app.static_folder) / "app.css").read_text()

    def test_text_copy_for_zalo(self, client, auth, make_user, setting):
        auth.login(make_user("officer", COMMUNE_A))
        response = client.get(f"/progress/villages/{setting['buon'].id}/not-reached.txt")
        assert response.mimetype == "text/plain"
        assert response.content_type == "text/plain; charset=utf-8"
        lines = response.get_data(as_text=True).splitlines()
        assert lines[0].startswith("Buôn Ako Dhông, Phường Buôn Ma Thuột: 1 hộ chưa được tiếp cận")
        assert lines[2:] == ["1. Ama Tuyết – Số 9"]
