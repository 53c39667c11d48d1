"""The one module that writes spreadsheets: CSV (streamed) and XLSX (openpyxl, write-only).

Callers hand over headers and rows of plain Python values; this module decides how each
value is stored. Numbers stay numbers, dates stay dates, a `Percent` is a share (0.457) shown
as 45.7 %, and any text a spreadsheet could run as a formula is neutralised on the way out.
"""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from itertools import islice
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

BOM = "\ufeff"  # Excel reads a CSV as UTF-8 only when it starts with this mark
CHUNK_BYTES = 64 * 1024
CSV_BATCH_ROWS = 200  # rows handed to the csv module at once
# Excel, LibreOffice and Google Sheets run a cell that starts with one of these as a formula
# (OWASP, "CSV injection"): "=HYPERLINK(…)", "+84 912…", "-2+3", "@SUM(…)".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset("".join(FORMULA_STARTS))
XLSX_MAX_ROWS = 1_048_576
DATE_FORMAT = "DD/MM/YYYY"
PERCENT_FORMAT = "0.0%"


class Percent(float):
    """A share between 0 and 1: a percentage cell in XLSX, '45.7' in CSV."""


class TooManyRows(ValueError):
    """More rows than an XLSX sheet can hold (1,048,576): the CSV has no such limit."""


def neutralise(value: Any) -> Any:
    """Text that starts like a formula gets a leading apostrophe; anything else is untouched
    (a negative number is a number, not text)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# ---------------------------------------------------------------------------------------------
# CSV


def csv_stream(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """UTF-8 CSV with a byte-order mark, yielded in chunks of about 64 KB as the rows come,
    so a file of millions of rows never sits in memory."""
    yield BOM.encode("utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(header) for header in headers])
    rows = iter(rows)
    while batch := list(islice(rows, CSV_BATCH_ROWS)):
        writer.writerows(map(_csv_row, batch))
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _csv_row(row: Sequence[Any]) -> list:
    # Runs for every row of a 3,000,000-row export, so the common cases come first: text is
    # neutralised; numbers, dates (written as 2026-11-28) and None (empty) go to the csv
    # module as they are.
    return [
        ("'" + value if value and value[0] in _FORMULA_FIRST else value)
        if isinstance(value, str)
        else (_CSV_CONVERTERS[type(value)](value) if type(value) in _CSV_CONVERTERS else value)
        for value in row
    ]


_CSV_CONVERTERS = {
    Percent: lambda share: f"{share * 100:.1f}",
    datetime: lambda moment: moment.isoformat(sep=" ", timespec="seconds"),
}


# ---------------------------------------------------------------------------------------------
# XLSX


def write_xlsx(
    target: str | IO[bytes],
    title_lines: Sequence[str],
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[float] | None = None,
    sheet_title: str = "Sheet1",
) -> int:
    """Write one sheet: the title lines (the first in bold), a bold header row that stays in
    view while scrolling, then the rows. openpyxl's write-only mode keeps memory low: rows go
    to a temporary file as they come. Returns the number of rows written."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_name(sheet_title))
    for column, width in enumerate(widths or (), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    header_row = len(title_lines) + 1
    sheet.freeze_panes = f"A{header_row + 1}"
    bold = Font(bold=True)
    for number, line in enumerate(title_lines):
        sheet.append([_styled(sheet, line, font=Font(bold=True, size=13) if number == 0 else None)])
    sheet.append([_styled(sheet, header, font=bold) for header in headers])
    written = 0
    room = XLSX_MAX_ROWS - header_row
    for row in rows:
        if written == room:
            sheet.close()  # ends the half-written sheet and removes its temporary file
            raise TooManyRows(room)
        sheet.append([_xlsx_value(sheet, value) for value in row])
        written += 1
    workbook.save(target)
    return written


def xlsx_bytes(
    title_lines: Sequence[str],
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[float] | None = None,
    sheet_title: str = "Sheet1",
) -> bytes:
    """The workbook of `write_xlsx` as bytes (for small sheets and tests)."""
    buffer = io.BytesIO()
    write_xlsx(buffer, title_lines, headers, rows, widths, sheet_title)
    return buffer.getvalue()


def _xlsx_value(sheet, value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Percent):
        return _styled(sheet, float(value), number_format=PERCENT_FORMAT)
    if isinstance(value, date) and not isinstance(value, datetime):
        return _styled(sheet, value, number_format=DATE_FORMAT)
    return value  # numbers, None


def _text(value: str) -> str:
    # Control characters are not allowed in the XML of a sheet; openpyxl would refuse the row.
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))


def _styled(sheet, value: Any, font: Font | None = None, number_format: str | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=_text(value) if isinstance(value, str) else value)
    if font is not None:
        cell.font = font
    if number_format is not None:
        cell.number_format = number_format
    return cell


def _sheet_name(title: str) -> str:
    """Sheet names: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in title).strip()
    return cleaned[:31] or "Sheet1"
