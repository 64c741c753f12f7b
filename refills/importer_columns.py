"""The caseload file's columns: reading the table and turning cells into values.

A reader turns an upload (CSV now; XLSX can add a reader returning the same
``Table``) into a header and numbered rows of strings. ``parse_cells`` then turns one
row's strings into Python values with strict formats, so that the forms see the same
types a browser would send. Messages never repeat a cell's value: cells may hold doses.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from django.utils.translation import gettext as _

from patients.models import PumpModel

COLUMNS = (
    "mrn",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone",
    "reminders_opt_in",
    "pump_model",
    "serial_number",
    "reservoir_ml",
    "alarm_volume_ml",
    "implant_date",
    "eri_date",
    "last_refill_date",
    "volume_after_refill_ml",
    "concentration_mcg_ml",
    "daily_dose_mcg",
    "bolus_allowance_mcg",
    "compounded",
    "next_appointment",
)
REQUIRED_COLUMNS = ("mrn", "first_name", "last_name", "pump_model", "serial_number", "implant_date")

DATE_COLUMNS = ("date_of_birth", "implant_date", "eri_date", "last_refill_date")
DECIMAL_COLUMNS = (
    "reservoir_ml",
    "alarm_volume_ml",
    "volume_after_refill_ml",
    "concentration_mcg_ml",
    "daily_dose_mcg",
    "bolus_allowance_mcg",
)
BOOLEAN_COLUMNS = ("reminders_opt_in", "compounded")
BOOLEANS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATETIME_RE = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2})")
DECIMAL_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file; ``line`` is the file's line number (header = 1)."""

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        if self.column is None:
            return f"row {self.line}: {self.message}"
        return f"row {self.line}, column {self.column}: {self.message}"


@dataclass(frozen=True)
class SourceRow:
    line: int
    cells: dict[str, str]  # known column -> stripped text; empty cells left out


@dataclass
class Table:
    rows: list[SourceRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # fatal: nothing can be imported
    warnings: list[str] = field(default_factory=list)


def read_bytes(source) -> bytes | str:
    """The content of bytes, a string or a file-like object (e.g. an uploaded file)."""
    if isinstance(source, bytes | str):
        return source
    return source.read()


def read_csv(source) -> Table:
    """Read a UTF-8 CSV (with or without a byte order mark) into a ``Table``."""
    content = read_bytes(source)
    table = Table()
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = content.count(b"\n", 0, error.start) + 1
            table.problems.append(
                Problem(
                    None,
                    None,
                    _(
                        "The file is not UTF-8 text (first bad byte on line %(line)s): save it as 'CSV UTF-8' and try again."
                    )
                    % {"line": line},
                )
            )
            return table
    content = content.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            table.problems.append(Problem(None, None, _("The file is empty: it needs a header row.")))
            return table
        columns = _read_header(header, table)
        if table.problems:
            return table
        line_end = reader.line_num
        for record in reader:
            # A quoted cell may span lines: a row starts on the line after the previous one ended.
            line, line_end = line_end + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            cells = {}
            for index, column in columns.items():
                value = record[index].strip() if index < len(record) else ""
                if value:
                    cells[column] = value
            table.rows.append(SourceRow(line, cells))
    except csv.Error as error:
        table.problems.append(Problem(reader.line_num, None, _("The CSV is malformed (%(error)s).") % {"error": error}))
    return table


def _read_header(header: list[str], table: Table) -> dict[int, str]:
    """Map cell positions to known columns; unknown columns are warned about and ignored."""
    columns: dict[int, str] = {}
    for index, raw in enumerate(header):
        name = raw.strip().lower()
        if name in COLUMNS:
            if name in columns.values():
                table.problems.append(Problem(1, name, _("This column appears twice in the header.")))
            columns[index] = name
        elif name:
            table.warnings.append(_("Ignoring unknown column '%(name)s'.") % {"name": raw.strip()})
    for name in REQUIRED_COLUMNS:
        if name not in columns.values():
            table.problems.append(Problem(1, name, _("The header has no %(name)s column (required).") % {"name": name}))
    return columns


def parse_cells(row: SourceRow, problems: list[Problem]) -> tuple[dict, set[str]]:
    """Typed values of the row's given cells, and the columns whose cells could not be read."""
    values: dict = {}
    bad: set[str] = set()
    for column, text in row.cells.items():
        try:
            values[column] = _parse(column, text)
        except ValueError as error:
            problems.append(Problem(row.line, column, str(error)))
            bad.add(column)
    return values, bad


def _parse(column: str, text: str):
    if column in DATE_COLUMNS:
        return parse_date(text)
    if column in DECIMAL_COLUMNS:
        if not DECIMAL_RE.fullmatch(text):
            raise ValueError(_("Expected a number such as 20 or 2.5."))
        return Decimal(text)
    if column in BOOLEAN_COLUMNS:
        if text.lower() not in BOOLEANS:
            raise ValueError(_("Expected yes/no, true/false or 1/0."))
        return BOOLEANS[text.lower()]
    if column == "pump_model":
        return parse_pump_model(text)
    if column == "next_appointment":
        return parse_local_datetime(text)
    return text


def parse_date(text: str) -> date:
    if not DATE_RE.fullmatch(text):
        raise ValueError(_("Expected a date as YYYY-MM-DD."))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("This is not a real date (YYYY-MM-DD).")) from None


def parse_local_datetime(text: str) -> tuple[date, time]:
    match = DATETIME_RE.fullmatch(text)
    if not match:
        raise ValueError(_("Expected a date and time as YYYY-MM-DD HH:MM."))
    try:
        moment = datetime.strptime(text, "%Y-%m-%d %H:%M")
    except ValueError:
        raise ValueError(_("This is not a real date and time (YYYY-MM-DD HH:MM).")) from None
    return moment.date(), moment.time()


def parse_pump_model(text: str) -> PumpModel:
    model = PumpModel.objects.filter(code=text.lower()).first()
    if model is None:
        codes = ", ".join(PumpModel.objects.order_by("code").values_list("code", flat=True))
        raise ValueError(_("Unknown pump model; use one of: %(codes)s.") % {"codes": codes})
    return model
