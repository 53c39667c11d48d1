import csv
import io
from datetime import date, datetime, timedelta

import openpyxl
import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from app.clock import local_today
from app.exchange import spreadsheets
from app.extensions import db
from app.models import AuditEvent, SessionStatus, Team
from app.progress import services
from tests.conftest import COMMUNE_A, COMMUNE_B

BOM = "\ufeff".encode()
PERSONAL = ["/exports/sessions.csv", "/exports/sessions.xlsx", "/exports/households.csv",
            "/exports/households.xlsx", "/exports/attendance.csv"]  # fmt: skip
EVERY_DOWNLOAD = ["/exports/totals.csv", "/exports/totals.xlsx", *PERSONAL]
EXPORT_EVENTS = sa.select(AuditEvent).where(AuditEvent.object_type == "export")
INJECTIONS = ['=HYPERLINK("http://x")', "+84 912", "-5", "@SUM(1+1)", "\tTab", "\rReturn"]


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
    team = Team(commune_id=buon.commune_id, name="Tổ CNS Buôn Ako Dhông", villages=[buon, thon])
    volunteer.team = team
    volunteer_b = make_user("volunteer", COMMUNE_B, full_name="Trần Thị Hoa")
    hen = make_household(buon, "H'Hen Niê", address="Số 4")
    yam = make_household(buon, "H'Yam Êban")
    an = make_household(thon, "Nguyễn Văn An")
    make_household(buon, "Ama Tuyết", address="Số 9")  # never reached
    binh = make_household(other, "Trần Văn Bình")
    today = local_today()
    make_session(buon, volunteer, [hen, yam], ["vneid", "cashless"], held_on=today - timedelta(days=2), team=team)
    make_session(thon, volunteer, [an, hen], ["vneid"], held_on=today - timedelta(days=40))
    make_session(buon, volunteer, [yam], ["ecommerce"], status=SessionStatus.REJECTED, held_on=today)
    make_session(other, volunteer_b, [binh], ["online_safety"], held_on=today - timedelta(days=45))
    return {"buon": buon, "thon": thon, "other": other, "volunteer": volunteer, "today": today}


@pytest.fixture
def province(client, auth, make_user):
    auth.login(make_user("province"))
    return client


@pytest.fixture
def officer(client, auth, make_user):
    """An officer of commune A, signed in."""
    auth.login(make_user("officer", COMMUNE_A))
    return client


def download(client, url):
    """Get a download and close it, as a server does when the last byte has gone."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def csv_rows(response) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def sheet(response):
    return openpyxl.load_workbook(io.BytesIO(response.get_data())).active


def vi(msgid: str, app) -> str:
    """A message as the Vietnamese catalogue has it (English until it is translated)."""
    with app.test_request_context(), force_locale("vi"):
        return _(msgid)


def since(days: int) -> str:
    return (local_today() - timedelta(days=days)).isoformat()


class TestSpreadsheets:
    @pytest.mark.parametrize("text", INJECTIONS)
    def test_text_that_starts_like_a_formula_is_neutralised(self, text):
        assert spreadsheets.neutralise(text) == "'" + text

    @pytest.mark.parametrize("value", ["Nguyễn Văn An", "", "a=b", "0912 345 678", -5, 3.5, 0, None, date(2026, 1, 2)])
    def test_anything_else_is_untouched(self, value):
        assert spreadsheets.neutralise(value) == value

    def test_csv_starts_with_a_byte_order_mark_and_keeps_vietnamese(self):
        data = b"".join(spreadsheets.csv_stream(["Chủ hộ", "Số hộ"], [["H'Hen Niê", 3], ["Đặng Thị Hoà", -5]]))
        assert data.startswith(BOM)
        assert data.decode("utf-8-sig").splitlines() == ["Chủ hộ,Số hộ", "H'Hen Niê,3", "Đặng Thị Hoà,-5"]

    def test_csv_values(self):
        rows = [[date(2026, 11, 28), spreadsheets.Percent(0.4567), None, 2.5, "-5", "=1+1"]]
        data = b"".join(spreadsheets.csv_stream(["a"] * 6, rows)).decode("utf-8-sig")
        assert data.splitlines()[1] == "2026-11-28,45.7,,2.5,'-5,'=1+1"

    def test_csv_is_written_in_chunks_as_the_rows_come(self):
        consumed = []

        def rows():
            for number in range(100_000):
                consumed.append(number)
                yield [number, "Nguyễn Văn An", "Buôn Ako Dhông"]

        stream = spreadsheets.csv_stream(["n", "name", "village"], rows())
        assert next(stream) == BOM
        first = next(stream)
        assert spreadsheets.CHUNK_BYTES <= len(first) < 2 * spreadsheets.CHUNK_BYTES
        assert len(consumed) < 5_000  # the rest is not read yet
        assert sum(len(chunk) for chunk in stream) > 2_000_000

    def test_xlsx_layout_and_types(self):
        data = spreadsheets.xlsx_bytes(
            ["Tổng hợp – Tỉnh Đắk Lắk", "Khoảng thời gian"],
            ["Mã", "Chủ hộ", "Số hộ", "Ngày", "Tỷ lệ"],
            [
                ["24133", '=HYPERLINK("http://x")', 3, date(2026, 11, 28), spreadsheets.Percent(0.5)],
                ["24175", "Nguyễn\x07 Văn An", -5, None, None],
            ],
            widths=[10, 30, 8, 12, 10],
            sheet_title="Tổng hợp theo xã/phường",
        )
        workbook = openpyxl.load_workbook(io.BytesIO(data))
        ws = workbook.active
        assert ws.title == "Tổng hợp theo xã phường"
        assert ws["A1"].value == "Tổng hợp – Tỉnh Đắk Lắk" and ws["A1"].font.b
        assert [cell.value for cell in ws[3]] == ["Mã", "Chủ hộ", "Số hộ", "Ngày", "Tỷ lệ"]
        assert all(cell.font.b for cell in ws[3])
        assert ws.freeze_panes == "A4"
        assert ws.column_dimensions["B"].width == 30
        assert ws["A4"].data_type == "s" and ws["A4"].value == "24133"  # codes stay text
        assert ws["B4"].value == '\'=HYPERLINK("http://x")' and ws["B4"].data_type == "s"
        assert ws["C4"].value == 3 and ws["C5"].value == -5 and ws["C5"].data_type == "n"
        assert ws["D4"].is_date and ws["D4"].value == datetime(2026, 11, 28) and ws["D4"].number_format == "DD/MM/YYYY"
        assert ws["E4"].value == 0.5 and ws["E4"].number_format == "0.0%"
        assert ws["B5"].value == "Nguyễn Văn An"  # a control character would make the file invalid

    def test_xlsx_refuses_more_rows_than_a_sheet_holds(self, monkeypatch):
        monkeypatch.setattr(spreadsheets, "XLSX_MAX_ROWS", 5)
        with pytest.raises(spreadsheets.TooManyRows):
            spreadsheets.xlsx_bytes(["title"], ["n"], [[n] for n in range(4)])
        assert spreadsheets.xlsx_bytes(["title"], ["n"], [[n] for n in range(3)])


class TestTotals:
    def test_csv_equals_the_dashboard_table_and_totals(self, app, province, setting):
        start, end = local_today() - timedelta(days=29), local_today()
        rows = csv_rows(download(province, f"/exports/totals.csv?from={start}&to={end}"))
        with app.test_request_context():
            dashboard = services.province_dashboard(start, end)
        assert rows[0][:3] == [vi("Commune code", app), "Xã, phường", "Chỉ tiêu"]
        assert len(rows) == 1 + 102 + 1
        assert [row[0] for row in rows[1:-1]] == [row.code for row in dashboard.communes]
        a = next(row for row in rows if row[0] == COMMUNE_A)
        assert a == [
            COMMUNE_A,
            "Phường Buôn Ma Thuột",
            "10",
            "3",
            "30.0",
            "4",
            "1",
            "1",
            "1",
            (end - timedelta(days=2)).isoformat(),
        ]
        total = rows[-1]
        figures = dashboard.totals
        assert total[0] == "" and total[1] == "Tổng cộng (102 xã, phường)"
        assert [int(value) for value in total[2:4]] == [figures["target"], figures["trained"]]
        assert [int(value) for value in total[5:9]] == [
            figures["registered"], figures["sessions"], figures["volunteers"], figures["trained_in_period"],
        ]  # fmt: skip
        assert total[4] == f"{figures['share'] * 100:.1f}"
        assert (figures["target"], figures["trained"], figures["registered"]) == (14, 4, 5)

    def test_xlsx_title_header_and_typed_cells(self, app, province, setting):
        response = download(province, f"/exports/totals.xlsx?from={since(59)}")
        assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        ws = sheet(response)
        assert "Đắk Lắk" in ws["A1"].value
        assert ws["A1"].font.b
        assert local_today().strftime("%d/%m/%Y") in ws["A2"].value  # the period
        assert ws["A3"].value  # the time of export
        header = [cell.value for cell in ws[4]]
        assert header[2:4] == ["Chỉ tiêu", "Đã được hướng dẫn"]
        assert all(cell.font.b for cell in ws[4])
        assert ws.freeze_panes == "A5"
        assert ws.column_dimensions["B"].width >= 20
        a = next(row for row in ws.iter_rows(min_row=5) if row[0].value == COMMUNE_A)
        assert [cell.value for cell in a[2:9]] == [10, 3, 0.3, 4, 2, 1, 3]  # 60 days: both sessions, all three trained
        assert a[4].number_format == "0.0%"
        assert a[9].is_date and a[9].value.date() == local_today() - timedelta(days=2)
        last = ws[ws.max_row]
        assert last[1].value == "Tổng cộng (102 xã, phường)"
        assert [cell.value for cell in last[2:9]] == [14, 4, pytest.approx(4 / 14), 5, 3, 2, 4]

    def test_headers_follow_the_users_language(self, app, client, auth, make_user, setting):
        auth.login(make_user("province", locale="en"))
        rows = csv_rows(download(client, "/exports/totals.csv"))
        assert rows[0][:4] == ["Commune code", "Commune or ward", "Target", "Trained"]
        assert rows[-1][1] == "Total (102 communes and wards)"

    def test_commune_and_period_filters(self, province, setting):
        rows = csv_rows(download(province, f"/exports/totals.csv?commune={COMMUNE_B}&from={since(50)}&to={since(41)}"))
        assert [row[0] for row in rows[1:]] == [COMMUNE_B, ""]
        assert rows[1][6] == "1"  # B's session 45 days ago is in the period
        rows = csv_rows(download(province, f"/exports/totals.csv?commune={COMMUNE_B}&from={since(40)}"))
        assert rows[1][6] == "0"

    def test_file_name_is_ascii_with_a_vietnamese_alternative(self, province, setting):
        response = download(province, f"/exports/totals.xlsx?commune={COMMUNE_A}&from=2026-01-01&to=2026-01-31")
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith(f'attachment; filename="tong-hop-{COMMUNE_A}-2026-01-01_2026-01-31.xlsx"')
        assert "filename*=UTF-8''t%E1%BB%95ng-h%E1%BB%A3p-" in disposition
        disposition.encode("ascii")


class TestLists:
    def test_sessions(self, app, province, setting):
        rows = csv_rows(download(province, f"/exports/sessions.csv?from={since(60)}"))
        assert rows[0][0] == vi("Date", app) and rows[0][3] == "Thôn, buôn"
        body = rows[1:]
        assert [row[0] for row in body] == [since(45), since(40), since(2), since(0)]  # oldest first
        recent = body[2]
        assert recent[1:6] == [
            COMMUNE_A,
            "Phường Buôn Ma Thuột",
            "Buôn Ako Dhông",
            "Tổ CNS Buôn Ako Dhông",
            "Y Bhim Mlô",
        ]
        assert recent[6].startswith("Định danh điện tử VNeID") and "; Thanh toán không dùng tiền mặt" in recent[6]
        assert recent[7] == "2"
        assert body[3][8] == "Từ chối"
        counted = [row for row in body if row[8] != "Từ chối"]
        totals = csv_rows(download(province, f"/exports/totals.csv?from={since(60)}"))[-1]
        assert len(counted) == int(totals[6])  # the totals count the sessions that are not rejected

    def test_sessions_xlsx_has_dates_and_numbers(self, province, setting):
        ws = sheet(download(province, f"/exports/sessions.xlsx?commune={COMMUNE_A}&from={since(60)}"))
        first = ws[5]
        assert first[0].is_date and first[0].value.date() == local_today() - timedelta(days=40)
        assert first[7].value == 2 and first[7].data_type == "n"
        assert ws.max_row == 4 + 3  # A's three sessions

    def test_households(self, app, province, setting):
        rows = csv_rows(download(province, f"/exports/households.csv?from={since(29)}"))
        yes, no = vi("Yes", app), vi("No", app)
        assert rows[0][3] == "Chủ hộ"
        by_name = {row[3]: row for row in rows[1:]}
        assert set(by_name) == {"Ama Tuyết", "H'Hen Niê", "H'Yam Êban", "Nguyễn Văn An", "Trần Văn Bình"}
        hen = by_name["H'Hen Niê"]
        assert hen[:5] == [COMMUNE_A, "Phường Buôn Ma Thuột", "Buôn Ako Dhông", "H'Hen Niê", "Số 4"]
        assert hen[6:9] == [yes, since(40), no]  # trained 40 days ago, not newly in the last 30
        assert hen[9].startswith("Định danh điện tử VNeID") and "Thanh toán" in hen[9]
        assert hen[10] == since(2)
        assert by_name["H'Yam Êban"][6:9] == [yes, since(2), yes]
        assert "Thương mại điện tử" not in by_name["H'Yam Êban"][9]  # learned only in the rejected session
        assert by_name["Ama Tuyết"][6:] == [no, "", no, "", ""]
        totals = csv_rows(download(province, f"/exports/totals.csv?from={since(29)}"))[-1]
        assert len(rows) - 1 == int(totals[5])  # registered
        assert sum(row[6] == yes for row in rows[1:]) == int(totals[3])  # trained
        assert sum(row[8] == yes for row in rows[1:]) == int(totals[8])  # newly trained in the period

    def test_attendance(self, province, setting):
        rows = csv_rows(download(province, f"/exports/attendance.csv?from={since(60)}"))
        assert rows[0][5] == "Chủ hộ"
        assert len(rows) == 1 + 6
        recent = [row for row in rows if row[0] == since(2)]
        assert {row[5] for row in recent} == {"H'Hen Niê", "H'Yam Êban"}
        assert recent[0][1:3] == [COMMUNE_A, "Buôn Ako Dhông"]
        assert recent[0][6] == "vneid cashless"
        assert rows[-1][7] == "Từ chối"
        rows = csv_rows(download(province, f"/exports/attendance.csv?commune={COMMUNE_B}&from={since(60)}"))
        assert [row[5] for row in rows[1:]] == ["Trần Văn Bình"]

    def test_formulas_in_names_are_neutralised(self, province, make_village, make_household):
        village = make_village("Thôn 1", COMMUNE_A)
        for text in INJECTIONS:
            make_household(village, text, address=text, phone="+84 912")
        rows = csv_rows(download(province, f"/exports/households.csv?commune={COMMUNE_A}"))
        for row in rows[1:]:
            assert row[3][0] == "'" and row[3][1:] in INJECTIONS
            assert row[4] == row[3]
            assert row[5] == "'+84 912"
        ws = sheet(download(province, f"/exports/households.xlsx?commune={COMMUNE_A}"))
        names = [row[3] for row in ws.iter_rows(min_row=5)]
        assert len(names) == len(INJECTIONS)
        for cell in names:
            assert cell.data_type == "s" and cell.value.startswith("'")


class TestAccess:
    @pytest.mark.parametrize("url", ["/exports", "/exports/attendance.csv", *EVERY_DOWNLOAD])
    def test_volunteers_may_not_export(self, client, auth, make_user, url):
        auth.login(make_user("volunteer", COMMUNE_A))
        assert client.get(url).status_code == 403

    def test_sign_in_first(self, client):
        response = client.get("/exports/totals.csv")
        assert response.status_code == 302 and "/login" in response.headers["Location"]

    def test_officer_exports_their_own_commune_only(self, officer, setting):
        rows = csv_rows(download(officer, "/exports/totals.csv"))  # no commune asked: their own, not all
        assert [row[0] for row in rows[1:]] == [COMMUNE_A, ""]
        assert rows[-1][1] == "Tổng cộng (1 xã, phường)"
        rows = csv_rows(download(officer, f"/exports/attendance.csv?from={since(60)}"))
        assert {row[1] for row in rows[1:]} == {COMMUNE_A}
        rows = csv_rows(download(officer, "/exports/households.csv"))
        assert len(rows) == 1 + 4

    @pytest.mark.parametrize("url", ["/exports", *EVERY_DOWNLOAD])
    def test_officer_asking_for_another_commune_gets_404(self, officer, setting, url):
        assert officer.get(f"{url}?commune={COMMUNE_B}").status_code == 404
        assert officer.get(f"{url}?commune=99999").status_code == 404

    @pytest.mark.parametrize("role", ["province", "admin"])
    def test_province_staff_and_admins_export_any_commune_or_all(self, client, auth, make_user, setting, role):
        auth.login(make_user(role))
        assert len(csv_rows(download(client, "/exports/totals.csv"))) == 1 + 102 + 1
        rows = csv_rows(download(client, f"/exports/sessions.csv?commune={COMMUNE_B}&from={since(60)}"))
        assert [row[1] for row in rows[1:]] == [COMMUNE_B]
        assert client.get("/exports/totals.csv?commune=99999").status_code == 404

    @pytest.mark.parametrize("url", PERSONAL)
    def test_every_personal_data_download_is_audited(self, app, officer, setting, url):
        commune_a = setting["buon"].commune_id
        response = download(officer, f"{url}?from=2026-01-01&to=2026-06-30")
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        event = db.session.scalars(EXPORT_EVENTS).one()
        name, fmt = url.removeprefix("/exports/").split(".")
        assert event.action == f"export.{name}"
        assert event.object_type == "export"
        assert event.commune_id == commune_a
        assert event.changes == {"format": fmt, "from": "2026-01-01", "to": "2026-06-30", "commune": COMMUNE_A}

    def test_province_wide_download_is_audited_without_a_commune(self, province, setting):
        download(province, "/exports/households.csv")
        event = db.session.scalars(EXPORT_EVENTS).one()
        assert event.commune_id is None and event.changes["commune"] is None

    def test_totals_hold_no_personal_data_and_are_not_audited(self, province, setting):
        download(province, "/exports/totals.csv")
        download(province, "/exports/totals.xlsx")
        assert db.session.scalars(EXPORT_EVENTS).all() == []

    def test_bad_dates_go_back_to_the_page_which_explains(self, province, setting):
        response = province.get("/exports/sessions.csv?from=2026-13-01")
        assert response.status_code == 302
        assert response.headers["Location"] == "/exports?from=2026-13-01"
        assert db.session.scalars(EXPORT_EVENTS).all() == []
        page = province.get(response.headers["Location"]).get_data(as_text=True)
        assert "Nhập ngày theo dạng dd/mm/yyyy." in page


class TestPages:
    def test_province_page_offers_every_export_with_the_filters(self, province, setting):
        page = province.get(f"/exports?from={since(10)}&to={since(0)}&commune={COMMUNE_B}").get_data(as_text=True)
        args = f"from={since(10)}&amp;to={since(0)}&amp;commune={COMMUNE_B}"
        for url in ["totals.xlsx", "totals.csv", "sessions.xlsx", "sessions.csv", "households.xlsx",
                    "households.csv", "attendance.csv"]:  # fmt: skip
            assert f'href="/exports/{url}?{args}"' in page
        assert f'<option selected value="{COMMUNE_B}">Xã Hòa Phú</option>' in page
        assert '<option value="">Tất cả xã, phường</option>' in page

    def test_officer_page_has_their_commune_fixed(self, officer, setting):
        page = officer.get("/exports").get_data(as_text=True)
        assert "Phường Buôn Ma Thuột" in page
        assert "<select" not in page
        assert f"commune={COMMUNE_A}" in page

    def test_dashboards_link_to_the_exports_with_their_filters(self, client, auth, make_user, setting):
        auth.login(make_user("province"))
        page = client.get(f"/progress?from={since(10)}").get_data(as_text=True)
        assert f'href="/exports?from={since(10)}"' in page
        page = client.get(f"/progress/communes/{COMMUNE_A}?from={since(10)}").get_data(as_text=True)
        assert f'href="/exports?commune={COMMUNE_A}&amp;from={since(10)}"' in page

    def test_home_links_to_the_exports(self, officer):
        assert 'href="/exports"' in officer.get("/").get_data(as_text=True)


class TestCommandLine:
    def test_xlsx(self, runner, setting, tmp_path):
        path = tmp_path / "tong-hop.xlsx"
        result = runner.invoke(args=["export", "totals", "--format", "xlsx", "-o", str(path), "--from", since(59)])
        assert result.exit_code == 0, result.output
        ws = openpyxl.load_workbook(path).active
        assert [cell.value for cell in ws[4]][2] == "Chỉ tiêu"  # Vietnamese: there is no request
        assert ws.freeze_panes == "A5"
        last = ws[ws.max_row]
        assert [cell.value for cell in last[2:4]] == [14, 4]
        assert "Wrote 103 rows" in result.output
        assert "4 trained households" in result.output
        assert str(path) in result.output

    def test_csv_for_one_commune(self, runner, setting, tmp_path):
        path = tmp_path / "tong-hop.csv"
        args = ["export", "totals", "--format", "csv", "-o", str(path), "--commune", COMMUNE_A]
        result = runner.invoke(args=[*args, "--from", since(29), "--to", since(0)])
        assert result.exit_code == 0, result.output
        data = path.read_bytes()
        assert data.startswith(BOM)
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert rows[0][1:3] == ["Xã, phường", "Chỉ tiêu"]
        assert [row[0] for row in rows[1:]] == [COMMUNE_A, ""]
        assert rows[1][2:9] == ["10", "3", "30.0", "4", "1", "1", "1"]

    @pytest.mark.parametrize(
        "extra",
        [["--from", "2026-13-01"], ["--to", "28/11/2026"], ["--from", "2026-02-01", "--to", "2026-01-01"],
         ["--commune", "99999"]],
    )  # fmt: skip
    def test_bad_input_is_a_clear_error(self, runner, communes, tmp_path, extra):
        path = tmp_path / "x.csv"
        result = runner.invoke(args=["export", "totals", "--format", "csv", "-o", str(path), *extra])
        assert result.exit_code != 0
        assert "Error" in result.output
        assert not path.exists()
