"""Reading uploaded household files (CSV or XLSX): the one module that opens them.

A file's content decides how it is read, never its name: an XLSX is a zip holding
`[Content_Types].xml` and `xl/workbook.xml`; an OLE2 container (`D0 CF 11 E0`) is an old
.xls or a workbook protected with a password, which cannot be read; anything else is tried
as CSV text. Everything that can go wrong with the file itself raises `UnreadableFile`
with a message for the person who sent it, before a single row is looked at.

Guards, in the order they apply: the size of the file; for XLSX the size it would unpack to
(read from the zip's directory, which Python's zipfile never exceeds when it inflates)
before openpyxl parses anything; then the number of rows. openpyxl parses the XML with
defusedxml, and is asked for formulas rather than values, so "=1+1" comes back as the text
"=1+1" and nothing in an uploaded file is ever evaluated.

CSV text is decoded as Vietnamese offices write it: a byte-order mark first (UTF-8, or
UTF-16 from Excel's "Unicode text"), then strict UTF-8, then Windows-1258, whose letters
carry their tone marks as separate combining characters; every cell ends up in NFC.
"""

import csv
import io
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

from flask_babel import format_decimal
from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.worksheet.formula import ArrayFormula

from app.text import fold

# The fields an import fills, and the header the template writes for each (DESIGN.md,
# Stable contracts: thon, chu_ho, dia_chi, so_dien_thoai).
COLUMN_NAMES = {"village": "thon", "head_name": "chu_ho", "address": "dia_chi", "phone": "so_dien_thoai"}
REQUIRED = ("village", "head_name")

# Header spellings accepted for each field, compared folded: accents, case, apostrophes and
# punctuation do not matter ("Thôn, buôn" and "thon buon" are one spelling).
_ALIASES = {
    "village": ("thon", "thon buon", "thon buon to dan pho", "thon to dan pho", "ten thon", "ten thon buon",
                "buon", "village"),
    "head_name": ("chu ho", "ho ten chu ho", "ho va ten chu ho", "ten chu ho", "ho ten", "head",
                  "head of household", "head name"),
    "address": ("dia chi", "so nha", "dia chi so nha", "address"),
    "phone": ("so dien thoai", "dien thoai", "sdt", "so dt", "dt", "phone", "phone number"),
}  # fmt: skip
HEADER_ALIASES = {fold(alias): field for field, aliases in _ALIASES.items() for alias in aliases}

MAX_ROWS = 20_000
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_MEMBERS = 1_000
# Spreadsheet XML squeezes well, but not a thousand to one; zeros padded to look small do.
MAX_RATIO = 200
MAX_CELL_CHARACTERS = 1_000  # longer cells are cut; names over 120 characters are refused anyway
HEADER_SEARCH_ROWS = 10  # a title line or two above the header is common in office lists

OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURE = b"PK\x03\x04"
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_DELIMITERS = (",", ";", "\t")
_SEPARATOR_HINT = re.compile(r"sep=([,;\t])\r?(?:\n|$)")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class UnreadableFile(Exception):
    """The file cannot be imported as it is; `message` says why, for the person who sent it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Sheet:
    """What a file holds: its header as spelled in the file, and its data rows as text.

    Each row is {"row": number in the spreadsheet (the header's row counts), "village",
    "head_name", "address", "phone"}; rows with every cell empty are left out.
    """

    kind: str  # "csv" or "xlsx"
    columns: dict[str, str]
    rows: list[dict]


def read_spreadsheet(data: bytes, filename: str, max_bytes: int, max_rows: int = MAX_ROWS) -> Sheet:
    """Read an uploaded CSV or XLSX file, or raise UnreadableFile."""
    if not data:
        raise UnreadableFile(_("The file is empty."))
    if len(data) > max_bytes:
        raise UnreadableFile(
            _(
                "Files can be at most %(size)s MB. Split the list into smaller files and import them one by one.",
                size=format_decimal(round(max_bytes / (1024 * 1024), 1)),
            )
        )
    if data.startswith(OLE2_SIGNATURE):
        raise UnreadableFile(
            _(
                "The file is protected with a password or is an old .xls file. "
                "Open it in Excel, remove the password if there is one, and save it as .xlsx or CSV."
            )
        )
    # Rows are read up to the limit and a little over: enough to find the header and to
    # know the file is too long, never the whole of a huge one.
    enough = max_rows + HEADER_SEARCH_ROWS + 1
    if data.startswith(ZIP_SIGNATURE):
        return _table("xlsx", _xlsx_rows(data, enough), max_rows)
    try:
        return _table("csv", _csv_rows(data, enough), max_rows)
    except UnreadableFile:
        if filename.lower().endswith((".xlsx", ".xlsm", ".xls")):
            raise UnreadableFile(
                _(
                    "The file is named like an Excel file but its content is not an Excel workbook. "
                    "Open it in Excel and save it again as .xlsx or CSV."
                )
            ) from None
        raise


def _not_a_spreadsheet() -> UnreadableFile:
    return UnreadableFile(
        _("This file is not a spreadsheet that can be read. Save the list as .xlsx (Excel) or CSV and try again.")
    )


# ---------------------------------------------------------------------------------------------
# XLSX


def _xlsx_rows(data: bytes, enough: int) -> list[tuple[int, list[str]]]:
    _check_workbook_archive(data)
    try:
        # openpyxl warns about parts it does not need (data validation, default styles).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
            try:
                if not workbook.worksheets:
                    raise UnreadableFile(_("The file is empty."))
                sheet = workbook.worksheets[0]
                sheet.reset_dimensions()  # some programs write a wrong size; read what is there
                rows = []
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                    cells = [_cell_text(value) for value in values]
                    if any(cells):
                        rows.append((number, cells))
                        if len(rows) >= enough:
                            break
                if not rows:
                    raise UnreadableFile(
                        _("The first sheet of the workbook is empty. Put the list on the first sheet.")
                    )
                return rows
            finally:
                workbook.close()
    except UnreadableFile:
        raise
    except Exception:  # a damaged workbook can fail anywhere inside the parser
        raise UnreadableFile(
            _("The Excel file could not be read; it may be damaged. Open it in Excel and save it again as .xlsx.")
        ) from None


def _check_workbook_archive(data: bytes) -> None:
    """Refuse a zip that is not a workbook, or that would unpack to too much, before parsing."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise UnreadableFile(
            _("The Excel file could not be read; it may be damaged. Open it in Excel and save it again as .xlsx.")
        ) from None
    names = {member.filename for member in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _not_a_spreadsheet()  # a .docx, an .ods, an .xlsb or any other zip
    unpacked = sum(member.file_size for member in members)
    squeezed = any(
        member.file_size > 1024 * 1024 and member.file_size > MAX_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if len(members) > MAX_MEMBERS or unpacked > MAX_UNPACKED_BYTES or squeezed:
        raise UnreadableFile(
            _(
                "This Excel file would unpack to far more data than a household list holds, so it was not opened. "
                "Copy the list into a new workbook and save it again."
            )
        )


def _cell_text(value) -> str:
    """A cell as text: numbers without a trailing '.0', dates in ISO form, formulas as typed."""
    if value is None:
        return ""
    if isinstance(value, ArrayFormula):
        value = value.text
    if isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))  # a phone number typed as a number: 912345678.0
    elif isinstance(value, datetime | date | time):
        text = value.isoformat()
    else:
        text = str(value)
    return unicodedata.normalize("NFC", text).strip()[:MAX_CELL_CHARACTERS]


# ---------------------------------------------------------------------------------------------
# CSV


def _csv_rows(data: bytes, enough: int) -> list[tuple[int, list[str]]]:
    text = _decode(data)
    if _CONTROL_CHARACTERS.search(text):
        raise _not_a_spreadsheet()  # text has no control characters besides tabs and line ends
    delimiter = _delimiter(text)
    if _SEPARATOR_HINT.match(text):
        # Excel's "sep=;" line names the separator; Excel does not show it as a row.
        text = text.split("\n", 1)[1] if "\n" in text else ""
    rows = []
    try:
        for number, values in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            cells = [value.strip()[:MAX_CELL_CHARACTERS] for value in values]
            if any(cells):
                rows.append((number, cells))
                if len(rows) >= enough:
                    break
    except csv.Error:
        raise _not_a_spreadsheet() from None
    return rows


def _delimiter(text: str) -> str:
    """Comma, semicolon (Excel where the decimal mark is a comma) or tab (Unicode text): the
    one the first lines hold most of; ties go to the comma."""
    hint = _SEPARATOR_HINT.match(text)
    if hint:
        return hint.group(1)
    sample = [line for line in text[:65536].splitlines() if line.strip()][: HEADER_SEARCH_ROWS + 1]
    return max(_DELIMITERS, key=lambda delimiter: sum(line.count(delimiter) for line in sample))


def _decode(data: bytes) -> str:
    """Bytes to NFC text: byte-order mark, else strict UTF-8, else Windows-1258."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _strict(data, encoding)
    if len(data) >= 4 and data.count(0) > len(data) // 4:
        # UTF-16 without a byte-order mark: every other byte of Vietnamese text is mostly 0.
        encoding = "utf-16-le" if data[1::2].count(0) > data[0::2].count(0) else "utf-16-be"
        return _strict(data, encoding)
    try:
        return unicodedata.normalize("NFC", data.decode("utf-8"))
    except UnicodeDecodeError:
        return _strict(data, "cp1258")


def _strict(data: bytes, encoding: str) -> str:
    try:
        return unicodedata.normalize("NFC", data.decode(encoding))
    except UnicodeDecodeError:
        raise _not_a_spreadsheet() from None


# ---------------------------------------------------------------------------------------------
# The header and the rows under it


def _table(kind: str, rows: list[tuple[int, list[str]]], max_rows: int) -> Sheet:
    if not rows:
        raise UnreadableFile(_("The file is empty."))
    header_at, positions = _find_header(rows)
    data_rows = rows[header_at + 1 :]
    if len(data_rows) > max_rows:
        raise UnreadableFile(
            _(
                "The file has more than %(n)s rows. Split it into smaller files and import them one by one.",
                n=format_decimal(max_rows),
            )
        )
    if not data_rows:
        raise UnreadableFile(_("The file has a header but no rows under it."))
    header = rows[header_at][1]
    columns = {field: header[index] for field, index in positions.items()}
    return Sheet(
        kind=kind,
        columns=columns,
        rows=[
            {"row": number, **{field: _at(cells, positions.get(field)) for field in COLUMN_NAMES}}
            for number, cells in data_rows
        ],
    )


def _find_header(rows: list[tuple[int, list[str]]]) -> tuple[int, dict[str, int]]:
    """The first of the top rows that names the required columns, and where each field is."""
    first = None
    for index, (_number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        positions = _positions(cells)
        if first is None:
            first = positions
        if all(field in positions for field in REQUIRED):
            return index, positions
    missing = [COLUMN_NAMES[field] for field in REQUIRED if field not in (first or {})]
    raise UnreadableFile(
        _(
            "The file does not have the columns needed: %(missing)s. The first row must name the columns "
            "thon (village), chu_ho (head of household), and optionally dia_chi (address) and so_dien_thoai "
            "(phone). Download the template to see how.",
            missing=", ".join(missing),
        )
    )


def _positions(cells: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, cell in enumerate(cells):
        field = HEADER_ALIASES.get(fold(cell))
        if field is None:
            continue  # other columns (số thứ tự, ghi chú…) are left alone
        if field in positions:
            raise UnreadableFile(
                _(
                    "Two columns of the file both look like %(column)s (“%(first)s” and “%(second)s”). "
                    "Keep one of them and import again.",
                    column=COLUMN_NAMES[field],
                    first=cells[positions[field]],
                    second=cell,
                )
            )
        positions[field] = index
    return positions


def _at(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""
