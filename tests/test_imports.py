import io
import re
import unicodedata
import zipfile
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa
from markupsafe import escape
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.clock import utcnow
from app.exchange import imports, reading
from app.exchange.reading import UnreadableFile, read_spreadsheet
from app.extensions import db
from app.models import AuditEvent, Household, PendingImport, Village
from app.progress.tallies import commune_figures, village_progress
from app.text import fold
from tests.conftest import COMMUNE_A, COMMUNE_B

NAMES = ("Nguyễn Văn An", "H'Hen Niê", "Đặng Thị Hoà")
HEADER = ("thon", "chu_ho", "dia_chi", "so_dien_thoai")
ROWS = (
    ("Buôn Ako Dhông", "Nguyễn Văn An", "Số 12", "0912 345 678"),
    ("Buôn Ako Dhông", "H'Hen Niê", "", ""),
    ("Thôn 3", "Đặng Thị Hoà", "Xóm Mới", "+84 987 654 321"),
)
MB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Files built in the test, as offices make them


def csv_bytes(rows=(HEADER, *ROWS), encoding="utf-8", delimiter=",") -> bytes:
    text = "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"
    if encoding == "cp1258":
        return cp1258(text)
    return text.encode(encoding)


def cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: base letters with tone marks as separate
    combining characters (the code page has no 'ễ', only 'ê' and a combining tilde)."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", char)
        # Keep the letter's own mark (â, ê, ô, ă, ơ, ư) with it and write the tone separately.
        for mark in ["", *marks]:
            letter = unicodedata.normalize("NFC", base + mark)
            rest = list(marks)
            if mark:
                rest.remove(mark)
            try:
                out += letter.encode("cp1258") + "".join(rest).encode("cp1258")
                break
            except UnicodeEncodeError:
                continue
        else:
            raise AssertionError(f"{char!r} cannot be written in cp1258")
    return bytes(out)


def xlsx_bytes(rows=(HEADER, *ROWS)) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def workbook_bomb(size: int) -> bytes:
    """A zip that looks like a workbook and whose sheet unpacks to `size` bytes of zeros."""
    return zip_bytes({
        "[Content_Types].xml": b"<Types/>",
        "xl/workbook.xml": b"<workbook/>",
        "xl/worksheets/sheet1.xml": b"0" * size,
    })  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture
def officer_a(make_user):
    return make_user("officer", COMMUNE_A, locale="en")


@pytest.fixture
def officer_b(make_user):
    return make_user("officer", COMMUNE_B, locale="en")


@pytest.fixture
def province(make_user):
    return make_user("province", locale="en")


def upload(client, data: bytes, filename: str = "ho.csv", commune: str | None = None):
    form = {"file": (io.BytesIO(data), filename)}
    if commune is not None:
        form["commune"] = commune
    return client.post("/imports", data=form, content_type="multipart/form-data")


def token_of(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = re.fullmatch(r"/imports/([A-Za-z0-9_-]{43})", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def import_file(client, data: bytes, filename: str = "ho.csv", commune: str | None = None):
    token = token_of(upload(client, data, filename, commune))
    return client.post(f"/imports/{token}/confirm")


def shows(response, text: str) -> bool:
    return str(escape(text)) in response.get_data(as_text=True)


def households() -> list[Household]:
    return list(db.session.scalars(sa.select(Household).order_by(Household.id)))


def written() -> dict[str, int]:
    """How many rows the tables an import may touch hold."""
    return {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Household, Village, PendingImport, AuditEvent)
    }


# ---------------------------------------------------------------------------------------------
# Reading files


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ","),
        ("utf-16", "\t"),  # Excel's "Unicode text": UTF-16 LE with a byte-order mark, tab-separated
        ("cp1258", ","),
        ("cp1258", ";"),
    ],
)
def test_each_encoding_is_read_and_stored_in_nfc(client, auth, officer_a, encoding, delimiter):
    data = csv_bytes(encoding=encoding, delimiter=delimiter)
    if encoding == "cp1258":
        assert b"\xcc" in data or b"\xde" in data or b"\xd2" in data  # really a combining tone mark
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    if encoding == "utf-16":
        assert data.startswith(b"\xff\xfe")
    auth.login(officer_a)
    response = import_file(client, data, "ho.csv")
    assert response.status_code == 302
    names = [household.head_name for household in households()]
    assert names == list(NAMES)
    assert all(unicodedata.is_normalized("NFC", name) for name in names)
    assert [h.phone for h in households()] == ["0912345678", None, "0987654321"]
    villages = {v.name for v in db.session.scalars(sa.select(Village))}
    assert villages == {"Buôn Ako Dhông", "Thôn 3"}


def test_nfd_text_in_utf8_is_stored_in_nfc():
    data = unicodedata.normalize("NFD", "thon,chu_ho\nThôn 3,Đặng Thị Hoà\n").encode()
    sheet = read_spreadsheet(data, "ho.csv", MB)
    assert sheet.rows == [{"row": 2, "village": "Thôn 3", "head_name": "Đặng Thị Hoà", "address": "", "phone": ""}]
    assert unicodedata.is_normalized("NFC", sheet.rows[0]["head_name"])


def test_utf16_without_a_byte_order_mark_is_read():
    data = "thon\tchu_ho\nBuôn Ako Dhông\tH'Hen Niê\n".encode("utf-16-le")
    assert read_spreadsheet(data, "ho.txt", MB).rows[0]["head_name"] == "H'Hen Niê"


@pytest.mark.parametrize(
    "header",
    [
        ("Thôn", "Chủ hộ", "Địa chỉ", "Số điện thoại"),
        ("thon", "chu ho", "dia chi", "sdt"),
        ("THÔN, BUÔN", "Họ tên chủ hộ", "Số nhà", "Điện thoại"),
        ("Village", "Head of household", "Address", "Phone"),
        ("thôn", "chủ_hộ", "địa_chỉ", "số_điện_thoại"),
    ],
)
def test_header_spellings_with_or_without_accents(header):
    sheet = read_spreadsheet(xlsx_bytes((("STT", *header), ("1", *ROWS[0]))), "ho.xlsx", MB)
    assert sheet.kind == "xlsx"
    assert sheet.columns == dict(zip(("village", "head_name", "address", "phone"), header, strict=True))
    assert sheet.rows[0] == {
        "row": 2, "village": "Buôn Ako Dhông", "head_name": "Nguyễn Văn An", "address": "Số 12",
        "phone": "0912 345 678",
    }  # fmt: skip


def test_a_title_above_the_header_keeps_the_spreadsheet_row_numbers():
    rows = (("DANH SÁCH HỘ GIA ĐÌNH",), (), HEADER, ROWS[0], (), ROWS[1])
    sheet = read_spreadsheet(xlsx_bytes(rows), "ho.xlsx", MB)
    assert [row["row"] for row in sheet.rows] == [4, 6]


@pytest.mark.parametrize(
    "data",
    [
        "sep=;\r\nthon;chu_ho\r\nThôn 3;Đặng Thị Hoà\r\n".encode(),  # Excel's separator line is not a row
        "DANH SÁCH HỘ GIA ĐÌNH\nthon;chu_ho\nThôn 3;Đặng Thị Hoà\n".encode(),
        "thon;chu_ho;dia_chi\nThôn 3;Đặng Thị Hoà;Số 1, đường 2\n".encode(),
    ],
)
def test_the_separator_is_found(data):
    rows = read_spreadsheet(data, "ho.csv", MB).rows
    assert [(row["village"], row["head_name"]) for row in rows] == [("Thôn 3", "Đặng Thị Hoà")]
    assert rows[0]["row"] == (3 if data.startswith(b"DANH") else 2)


def test_an_empty_first_sheet_is_named():
    workbook = openpyxl.Workbook()
    workbook.create_sheet("Danh sách").append(HEADER)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(UnreadableFile, match="first sheet of the workbook is empty"):
        read_spreadsheet(buffer.getvalue(), "ho.xlsx", MB)


def test_optional_columns_may_be_left_out():
    sheet = read_spreadsheet(b"chu_ho,thon\nH'Hen Nie,Buon Ako Dhong\n", "ho.csv", MB)
    assert sheet.rows == [{"row": 2, "village": "Buon Ako Dhong", "head_name": "H'Hen Nie", "address": "", "phone": ""}]


def test_formulas_are_read_as_their_text():
    rows = (HEADER, ("=1+1", "=A1&B1", '=HYPERLINK("http://x.example","bấm")', "=SUM(1,2)"))
    sheet = read_spreadsheet(xlsx_bytes(rows), "ho.xlsx", MB)
    assert sheet.rows[0] == {
        "row": 2, "village": "=1+1", "head_name": "=A1&B1", "address": '=HYPERLINK("http://x.example","bấm")',
        "phone": "=SUM(1,2)",
    }  # fmt: skip


def test_too_many_rows_are_refused():
    rows = (HEADER, *(("Thôn 1", f"Người {n}", "", "") for n in range(4)))
    with pytest.raises(UnreadableFile, match="more than 3 rows"):
        read_spreadsheet(xlsx_bytes(rows), "ho.xlsx", MB, max_rows=3)
    assert len(read_spreadsheet(xlsx_bytes(rows), "ho.xlsx", MB, max_rows=4).rows) == 4


def test_a_workbook_bomb_is_refused_before_it_is_parsed(monkeypatch):
    def parse(*_args, **_kwargs):
        raise AssertionError("openpyxl must not see this file")

    monkeypatch.setattr(reading, "load_workbook", parse)
    for bomb in (workbook_bomb(reading.MAX_UNPACKED_BYTES + 1), workbook_bomb(2 * MB)):
        assert len(bomb) < 200 * 1024
        with pytest.raises(UnreadableFile, match="unpack"):
            read_spreadsheet(bomb, "ho.xlsx", 5 * MB)


# ---------------------------------------------------------------------------------------------
# Upload, preview, confirm


def test_xlsx_upload_preview_and_confirm(client, auth, officer_a, make_village, make_household):
    village = make_village("Buôn Ako Dhông", COMMUNE_A)
    make_household(village, "Nguyễn Văn An", phone="0912345678")
    rows = (
        HEADER,
        ("Buon Ako Dhong", "nguyen van an", "", 912345678),  # registered: a match (Excel ate the 0)
        ("Buôn Ako Dhông", "H'Hen Niê", "Số 4", 912345679),  # new household, phone as a number
        ("Tổ dân phố 3", "Đặng Thị Hoà", "", ""),  # new village
        ("Tổ dân phố 3", "", "", "123"),  # errors: no head, not a phone
    )
    auth.login(officer_a)
    token = token_of(upload(client, xlsx_bytes(rows), "danh-sach.xlsx"))
    page = client.get(f"/imports/{token}")
    assert page.status_code == 200
    assert shows(page, "danh-sach.xlsx")
    assert shows(page, "Import 2 households")
    assert shows(page, "Tổ dân phố 3")
    assert shows(page, "Rows with errors will be skipped")
    errors = page.get_data(as_text=True).split('class="records import-errors"', 1)[1].split("</ul>", 1)[0]
    assert "Row 5" in errors and "column “chu_ho”" in errors and "Enter the name of the head of household." in errors
    assert "column “so_dien_thoai”" in errors and "This is not a Vietnamese phone number." in errors
    assert len(households()) == 1  # the preview writes nothing

    response = client.post(f"/imports/{token}/confirm")
    assert response.status_code == 302 and response.headers["Location"] == "/imports"
    assert shows(client.get("/imports"), "Import finished: 2 households added, 1 new villages, 1 already registered")
    added = households()[1:]
    assert [(h.head_name, h.address, h.phone, h.village.name) for h in added] == [
        ("H'Hen Niê", "Số 4", "0912345679", "Buôn Ako Dhông"),
        ("Đặng Thị Hoà", None, None, "Tổ dân phố 3"),
    ]
    assert {h.created_by_id for h in added} == {officer_a.id}
    assert added[1].village.kind == "to_dan_pho"
    assert db.session.scalar(sa.select(PendingImport)) is None


def test_preview_classifies_rows_with_row_numbers_and_columns(app, communes, make_village, make_household):
    village = make_village("Thôn 3", COMMUNE_A)
    make_household(village, "Nguyễn Văn An", phone="0912345678")
    make_household(village, "Lê Văn Cường")  # registered without a phone
    make_household(village, "Trần Thị Bích", deleted_at=utcnow())  # deleted: never a match
    make_household(make_village("Thôn 3", COMMUNE_B), "Phạm Văn Dũng")  # another commune
    rows = [
        {"row": 2, "village": "thon 3", "head_name": "NGUYEN VAN AN", "address": "", "phone": ""},
        {"row": 3, "village": "Thôn 3", "head_name": "Nguyễn Văn An", "address": "", "phone": "0912 345 678"},
        {"row": 4, "village": "Thôn 3", "head_name": "Nguyễn Văn An", "address": "", "phone": "0987654321"},
        {"row": 5, "village": "Thôn 3", "head_name": "Lê Văn Cường", "address": "", "phone": "0977000111"},
        {"row": 6, "village": "Thôn 3", "head_name": "Trần Thị Bích", "address": "", "phone": ""},
        {"row": 7, "village": "Thôn 3", "head_name": "Phạm Văn Dũng", "address": "", "phone": ""},
        {"row": 8, "village": "Buôn Ea Kao", "head_name": "Y Bhim Mlô", "address": "", "phone": ""},
        {"row": 9, "village": "Buon Ea Kao", "head_name": "Y  Bhim  Mlo", "address": "", "phone": ""},
        {"row": 10, "village": "", "head_name": "Nguyễn Thị E", "address": "", "phone": ""},
        {"row": 11, "village": "Thôn 3", "head_name": "A" * 121, "address": "x" * 201, "phone": "12345"},
        {"row": 12, "village": "---", "head_name": "Hồ Văn G", "address": "", "phone": ""},
    ]
    plan = imports.preview(rows, communes[COMMUNE_A])
    assert [(row.row, row.household_id is not None, row.same_as_row) for row in plan.matches] == [
        (2, True, None),  # no phone given: same name in the same village is the same household
        (3, True, None),  # the same phone
        (5, True, None),  # the registered household has no phone to disagree with
        (9, False, 8),  # a repeat of row 8 inside the file
    ]
    assert [(row.row, row.is_new_village) for row in plan.to_create] == [
        (4, False),  # same name, another phone: another household
        (6, False),  # the registered one is deleted
        (7, False),  # the same name in another commune is someone else
        (8, True),
    ]
    assert plan.new_villages == ["Buôn Ea Kao"]
    assert [(error.row, error.column) for error in plan.errors] == [
        (10, "village"), (11, "head_name"), (11, "address"), (11, "phone"), (12, "village"),
    ]  # fmt: skip
    assert plan.rows_with_errors == 3


def test_reimporting_the_same_file_adds_nothing_twice(client, auth, officer_a):
    auth.login(officer_a)
    import_file(client, csv_bytes())
    before = [(h.id, h.head_name) for h in households()]
    token = token_of(upload(client, csv_bytes(encoding="cp1258")))
    page = client.get(f"/imports/{token}")
    assert shows(page, "This file adds nothing new.")
    assert not shows(page, "/confirm")
    client.post(f"/imports/{token}/confirm")
    assert [(h.id, h.head_name) for h in households()] == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Village)) == 2


def test_confirm_checks_the_database_again(client, auth, officer_a, make_village, make_household):
    auth.login(officer_a)
    token = token_of(upload(client, csv_bytes()))
    # Registered by a volunteer between the preview and the confirmation.
    make_household(make_village("Buôn Ako Dhông", COMMUNE_A), "H'Hen Niê")
    client.post(f"/imports/{token}/confirm")
    assert sorted(h.head_name for h in households()) == sorted(NAMES)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "import.households"))
    assert event.changes == {"file": "ho.csv", "created": 2, "matched": 1, "villages_created": 1, "errors": 0}


def test_confirm_moves_the_counters_and_writes_one_import_audit_row(
    client, auth, officer_a, communes, make_village, make_household
):
    village = make_village("Thôn 3", COMMUNE_A, kind="thon")
    make_household(village, "Đặng Thị Hoà")
    assert commune_figures(communes[COMMUNE_A].id) == (0, 1)
    rows = (HEADER, *ROWS, ("Thôn 3", "", "", ""), ("Bon Bu Dăr", "Điểu K'Lới", "", ""))
    auth.login(officer_a)
    import_file(client, csv_bytes(rows), "tháng 3.csv")

    assert commune_figures(communes[COMMUNE_A].id) == (0, 4)
    villages = {v.name: v for v in db.session.scalars(sa.select(Village))}
    assert {name: v.kind for name, v in villages.items()} == {
        "Thôn 3": "thon", "Buôn Ako Dhông": "buon", "Bon Bu Dăr": "bon",
    }  # fmt: skip
    assert village_progress([v.id for v in villages.values()]) == {
        villages["Thôn 3"].id: (0, 1), villages["Buôn Ako Dhông"].id: (0, 2), villages["Bon Bu Dăr"].id: (0, 1),
    }  # fmt: skip
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "import.households")).all()
    assert len(events) == 1
    event = events[0]
    assert (event.actor_id, event.object_type, event.commune_id) == (officer_a.id, "import", communes[COMMUNE_A].id)
    assert event.changes == {"file": "tháng 3.csv", "created": 3, "matched": 1, "villages_created": 2, "errors": 1}
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor_id == officer_a.id)).all()
    assert sorted(actions).count("household.create") == 3 and actions.count("village.create") == 2


def test_a_failure_while_applying_saves_nothing(client, auth, officer_a, monkeypatch):
    record = imports.record

    def fail_at_the_end(actor_id, action, *args, **kwargs):
        if action == "import.households":  # the villages and households are already added
            raise RuntimeError("the disk is full")
        return record(actor_id, action, *args, **kwargs)

    auth.login(officer_a)
    token = token_of(upload(client, csv_bytes()))
    before = written()
    monkeypatch.setattr(imports, "record", fail_at_the_end)
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.post(f"/imports/{token}/confirm").status_code == 500
    assert written() == before


def test_cancel_writes_nothing_and_forgets_the_file(client, auth, officer_a):
    auth.login(officer_a)
    before = written()
    token = token_of(upload(client, csv_bytes()))
    response = client.post(f"/imports/{token}/cancel")
    assert response.headers["Location"] == "/imports"
    assert shows(client.get("/imports"), "Import cancelled. Nothing was changed.")
    assert written() == before
    assert client.get(f"/imports/{token}").status_code == 404
    assert client.post(f"/imports/{token}/confirm").status_code == 404


def test_a_new_upload_replaces_the_previous_preview(client, auth, officer_a):
    auth.login(officer_a)
    first = token_of(upload(client, csv_bytes()))
    second = token_of(upload(client, xlsx_bytes(), "ho.xlsx"))
    assert client.get(f"/imports/{first}").status_code == 404
    assert client.get(f"/imports/{second}").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PendingImport)) == 1


def test_an_expired_preview_must_be_uploaded_again(client, auth, officer_a):
    auth.login(officer_a)
    token = token_of(upload(client, csv_bytes()))
    db.session.execute(sa.update(PendingImport).values(created_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    response = client.post(f"/imports/{token}/confirm")
    assert response.headers["Location"] == "/imports"
    assert shows(client.get("/imports"), "This preview has expired.")
    assert written()["Household"] == 0 and written()["PendingImport"] == 0


def test_long_lists_are_capped_on_the_preview(client, auth, officer_a):
    rows = (HEADER, *(("Thôn 1", f"Người số {n}", "", "") for n in range(130)))
    auth.login(officer_a)
    page = client.get(f"/imports/{token_of(upload(client, csv_bytes(rows)))}")
    assert shows(page, "Import 130 households")
    assert shows(page, "Showing the first 100 of 130.")
    assert page.get_data(as_text=True).count("Người số") == 100


# ---------------------------------------------------------------------------------------------
# Files that are refused, and change nothing


OLE2 = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504)
JUNK = bytes(range(256)) * 8


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "ho.csv", "The file is empty."),
        (b"\r\n \r\n", "ho.csv", "The file is empty."),
        (JUNK, "ho.csv", "This file is not a spreadsheet that can be read."),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "anh.csv", "This file is not a spreadsheet that can be read."),
        (b"Just some notes, not a list\n", "ho.xlsx", "named like an Excel file but its content is not"),
        (OLE2, "ho.xlsx", "protected with a password or is an old .xls file"),
        (OLE2, "ho.xls", "protected with a password or is an old .xls file"),
        (b"ten,so_dien_thoai\nAn,0912345678\n", "ho.csv", "columns needed: thon, chu_ho"),
        (b"thon,ghi_chu\nThon 1,x\n", "ho.csv", "columns needed: chu_ho."),
        (b"thon,chu_ho,Thon buon\nA,B,C\n", "ho.csv", "Two columns of the file both look like thon"),
        (b"thon,chu_ho\n", "ho.csv", "The file has a header but no rows under it."),
        (workbook_bomb(60 * MB), "ho.xlsx", "would unpack to far more data"),
        (zip_bytes({"word/document.xml": b"<w/>", "[Content_Types].xml": b"<T/>"}), "ho.xlsx", "not a spreadsheet"),
        (zip_bytes({"[Content_Types].xml": b"<T/>", "xl/workbook.xml": b"not xml"}), "ho.xlsx", "may be damaged"),
        (xlsx_bytes()[:-200], "ho.xlsx", "may be damaged"),
    ],
    ids=[
        "empty", "blank-lines", "binary-junk", "png-named-csv", "text-named-xlsx", "ole2-protected", "old-xls",
        "wrong-columns", "no-head-column", "column-twice", "header-only", "zip-bomb", "docx", "broken-workbook",
        "truncated",
    ],
)  # fmt: skip
def test_bad_files_get_a_clear_message_and_change_nothing(client, auth, officer_a, data, filename, message):
    auth.login(officer_a)
    before = written()
    response = upload(client, data, filename)
    assert response.status_code == 422
    assert shows(response, message)
    assert written() == before


def test_a_file_over_the_limit_answers_413_and_changes_nothing(client, auth, officer_a):
    auth.login(officer_a)
    before = written()
    data = csv_bytes() + b"Thon 1,An\r\n" * (6 * MB // 11)
    # The body is built in memory: the test client would spool a large file to disk and
    # leave it open when the app refuses to read it.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), "ho.csv")})
    response = client.post("/imports", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert shows(response, "Files can be at most 5 MB.")
    assert written() == before


def test_no_file_chosen(client, auth, officer_a):
    auth.login(officer_a)
    response = client.post("/imports", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and shows(response, "Choose the file to import.")


def test_formula_cells_are_stored_as_text(client, auth, officer_a):
    auth.login(officer_a)
    import_file(client, xlsx_bytes((HEADER, ("Thôn 1", "=1+1", '=HYPERLINK("http://x.example")', ""))), "f.xlsx")
    household = households()[0]
    assert (household.head_name, household.address) == ("=1+1", '=HYPERLINK("http://x.example")')


# ---------------------------------------------------------------------------------------------
# Who may import what


def test_volunteers_may_not_import(client, auth, make_user):
    auth.login(make_user("volunteer", COMMUNE_A))
    for url in ("/imports", "/imports/template.xlsx", "/imports/template.csv"):
        assert client.get(url).status_code == 403
    assert upload(client, csv_bytes()).status_code == 403
    assert written()["Household"] == 0


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/imports").headers["Location"].startswith("/login")


def test_officers_import_into_their_own_commune_only(client, auth, officer_b, communes):
    auth.login(officer_b)
    page = client.get("/imports")
    assert page.status_code == 200 and 'name="commune"' not in page.get_data(as_text=True)
    assert upload(client, csv_bytes(), commune=COMMUNE_A).status_code == 404
    import_file(client, csv_bytes(), commune=COMMUNE_B)
    import_file(client, csv_bytes(encoding="utf-16", delimiter="\t"))
    assert {h.commune_id for h in households()} == {communes[COMMUNE_B].id}
    assert len(households()) == 3


def test_nobody_else_sees_or_confirms_a_pending_import(client, auth, officer_a, officer_b, make_user):
    auth.login(officer_a)
    token = token_of(upload(client, csv_bytes()))
    auth.logout()
    for other in (officer_b, make_user("officer", COMMUNE_A, locale="en"), make_user("province")):
        auth.login(other)
        assert client.get(f"/imports/{token}").status_code == 404
        assert client.post(f"/imports/{token}/confirm").status_code == 404
        assert client.post(f"/imports/{token}/cancel").status_code == 404
        auth.logout()
    assert written()["Household"] == 0 and written()["PendingImport"] == 1
    auth.login(officer_a)
    assert client.get(f"/imports/{token}").status_code == 200


def test_province_staff_choose_any_commune(client, auth, province, communes):
    auth.login(province)
    page = client.get("/imports")
    assert f'value="{COMMUNE_B}"' in page.get_data(as_text=True)
    response = upload(client, csv_bytes())
    assert response.status_code == 422 and shows(response, "Choose the commune or ward the households belong to.")
    assert upload(client, csv_bytes(), commune="99999").status_code == 404
    import_file(client, csv_bytes(), commune=COMMUNE_B)
    assert {h.commune_id for h in households()} == {communes[COMMUNE_B].id}
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "import.households"))
    assert (event.actor_id, event.commune_id) == (province.id, communes[COMMUNE_B].id)


def test_the_home_page_offers_imports_to_those_who_may(client, auth, officer_a, province, make_user):
    for user, offered in ((officer_a, True), (province, True), (make_user("volunteer", locale="en"), False)):
        auth.login(user)
        assert ('href="/imports"' in client.get("/").get_data(as_text=True)) is offered
        auth.logout()


# ---------------------------------------------------------------------------------------------
# Templates


def test_the_templates_download_and_import_as_they_are(client, auth, officer_a):
    auth.login(officer_a)
    xlsx = client.get("/imports/template.xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        list(HEADER), ["Buôn Ako Dhông", "H'Hen Niê", "Số 4", "0912 345 678"],
    ]  # fmt: skip
    text = client.get("/imports/template.csv")
    assert text.data.startswith(b"\xef\xbb\xbfthon,chu_ho,dia_chi,so_dien_thoai\r\n")
    for template, name in ((xlsx.data, "mau.xlsx"), (text.data, "mau.csv")):
        import_file(client, template, name)
    assert [(h.head_name, h.address, h.phone) for h in households()] == [("H'Hen Niê", "Số 4", "0912345678")]


# ---------------------------------------------------------------------------------------------
# Command line


def test_command_line_import_with_yes(runner, communes, make_village, make_household, tmp_path):
    make_household(make_village("Thôn 3", COMMUNE_A), "Đặng Thị Hoà")
    path = tmp_path / "ho.xlsx"
    path.write_bytes(xlsx_bytes((HEADER, *ROWS, ("Thôn 3", "", "", "12"))))
    result = runner.invoke(args=["import", "households", str(path), "--commune", COMMUNE_A, "--yes"])
    assert result.exit_code == 0, result.output
    assert "to add:             2 households, 1 new villages" in result.output
    assert "row 5, column chu_ho: Enter the name of the head of household." in result.output
    assert "row 5, column so_dien_thoai: This is not a Vietnamese phone number." in result.output
    assert (
        "Imported: 2 households added, 1 villages created, 1 already registered, 1 rows skipped with errors."
        in result.output
    )
    added = households()[1:]
    assert [h.head_name for h in added] == ["Nguyễn Văn An", "H'Hen Niê"]
    assert {h.created_by_id for h in added} == {None}
    assert commune_figures(communes[COMMUNE_A].id) == (0, 3)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "import.households"))
    assert event.actor_id is None and event.changes["file"] == "ho.xlsx"

    again = runner.invoke(args=["import", "households", str(path), "--commune", COMMUNE_A, "--yes"])
    assert "Nothing to add." in again.output and len(households()) == 3


def test_command_line_asks_before_importing(runner, communes, tmp_path):
    path = tmp_path / "ho.csv"
    path.write_bytes(csv_bytes(encoding="cp1258"))
    before = written()
    result = runner.invoke(args=["import", "households", str(path), "--commune", COMMUNE_A], input="n\n")
    assert result.exit_code == 1 and "Add 3 households" in result.output
    assert written() == before
    result = runner.invoke(args=["import", "households", str(path), "--commune", COMMUNE_A], input="y\n")
    assert result.exit_code == 0 and [h.head_name for h in households()] == list(NAMES)


@pytest.mark.parametrize(
    ("data", "commune", "message"),
    [
        (OLE2, COMMUNE_A, "protected with a password"),
        (b"a,b\n1,2\n", COMMUNE_A, "columns needed"),
        (csv_bytes(), "00000", "No commune or ward has the code 00000"),
    ],
)
def test_command_line_refusals_change_nothing(runner, communes, tmp_path, data, commune, message):
    path = tmp_path / "ho.csv"
    path.write_bytes(data)
    before = written()
    result = runner.invoke(args=["import", "households", str(path), "--commune", commune, "--yes"])
    assert result.exit_code != 0 and message in result.output
    assert written() == before


def test_village_kinds_are_guessed_from_the_name():
    guesses = {
        name: imports.guess_kind(fold(name))
        for name in ("Buôn Ako Dhông", "Bon Bu Dăr", "Tổ dân phố 5", "TDP 2", "Thôn 3", "Tân Lập", "Buônma")
    }
    assert guesses == {
        "Buôn Ako Dhông": "buon", "Bon Bu Dăr": "bon", "Tổ dân phố 5": "to_dan_pho", "TDP 2": "to_dan_pho",
        "Thôn 3": "thon", "Tân Lập": "thon", "Buônma": "thon",
    }  # fmt: skip
