"""The caseload file's columns: reading the table and turning cells into values.

A reader turns an upload (CSV or XLSX, the first sheet) into a header and numbered
rows of strings (``table_from_file``), renaming the clinic's own headers through a
column mapping if one is given. ``parse_cells`` then turns one row's strings into
Python values with strict formats, so that the forms see the same types a browser
would send. Messages never repeat a cell's value: cells may hold doses.
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import PurePath

import openpyxl
from django.utils.translation import gettext as _

from clinic.dates import parse_date  # one reading of a YYYY-MM-DD cell or argument
from clinic.spreadsheet_cells import unquote
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


class FileProblem(Exception):
    """A reader cannot go on: the file as a whole is unreadable."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


def file_kind(filename: str | None) -> str:
    """The reader a file name asks for: "xlsx" for .xlsx, else "csv"."""
    suffix = PurePath(filename).suffix.lstrip(".").lower() if filename else ""
    return "xlsx" if suffix == "xlsx" else "csv"


def csv_records(source) -> Iterator[tuple[int, list]]:
    """(line number, cells) of each record of a UTF-8 CSV (with or without a byte order mark)."""
    content = read_bytes(source)
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = content.count(b"\n", 0, error.start) + 1
            raise FileProblem(
                Problem(
                    None,
                    None,
                    _(
                        "The file is not UTF-8 text (first bad byte on line %(line)s): save it as 'CSV UTF-8' and try again."
                    )
                    % {"line": line},
                )
            ) from None
    content = content.removeprefix("\ufeff")
    if "\x00" in content:
        # A NUL is never in CSV text (often a UTF-16 file), and PostgreSQL refuses it even in a lookup.
        line = content.count("\n", 0, content.index("\x00")) + 1
        raise FileProblem(
            Problem(
                None,
                None,
                _("The file contains a NUL character (line %(line)s): save it as 'CSV UTF-8' and try again.")
                % {"line": line},
            )
        )
    reader = csv.reader(io.StringIO(content, newline=""))
    line_end = 0
    try:
        for record in reader:
            # A quoted cell may span lines: a record starts on the line after the previous one ended.
            line, line_end = line_end + 1, reader.line_num
            yield line, record
    except csv.Error as error:
        raise FileProblem(
            Problem(reader.line_num, None, _("The CSV is malformed (%(error)s).") % {"error": error})
        ) from None


def xlsx_records(source) -> Iterator[tuple[int, list]]:
    """(row number, cell values) of the first sheet of an XLSX workbook; values keep their types."""
    content = read_bytes(source)
    unreadable = Problem(
        None, None, _("The file is not a readable XLSX workbook: save it again as .xlsx, or as CSV UTF-8.")
    )
    if isinstance(content, str):
        raise FileProblem(unreadable)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # a damaged or foreign file fails in zipfile, XML or openpyxl in many ways
        raise FileProblem(unreadable) from None
    try:
        sheet = workbook.worksheets[0]
        # Read-only sheets yield every row from the first, empty ones included, so the
        # position is the row number the spreadsheet program shows.
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            yield number, list(values)
    finally:
        workbook.close()


RECORD_READERS = {"csv": csv_records, "xlsx": xlsx_records}


def cell_text(value, column: str | None = None) -> str:
    """A cell as the text the CSV would hold, whatever type the spreadsheet gave it.

    Text that an export quoted so that a spreadsheet would not run it (``'=x``) is read
    back as it was (``=x``): see clinic/spreadsheet_cells.py.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return unquote(value.strip())
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        if column == "next_appointment" or value.time() != time(0, 0):
            return value.strftime("%Y-%m-%d %H:%M")
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float):
        # A spreadsheet number is a binary float: 15 significant digits is what it was typed as.
        return format(Decimal(format(value, ".15g")), "f")
    return str(value).strip()


def table_from_file(source, kind: str = "csv", column_map: dict[str, str] | None = None) -> Table:
    """Read a CSV or XLSX into a ``Table``; ``column_map`` renames the file's own headers."""
    table = Table()
    try:
        records = RECORD_READERS[kind](source)
        first = next(records, None)
        if first is None:
            table.problems.append(Problem(None, None, _("The file is empty: it needs a header row.")))
            return table
        columns = _read_header([cell_text(cell) for cell in first[1]], table, column_map or {})
        if table.problems:
            return table
        for line, record in records:
            cells = {}
            for index, column in columns.items():
                value = cell_text(record[index], column) if index < len(record) else ""
                if value:
                    cells[column] = value
            if cells or any(cell_text(cell) for cell in record):
                table.rows.append(SourceRow(line, cells))
    except FileProblem as error:
        table.problems.append(error.problem)
    return table


def read_csv(source, column_map: dict[str, str] | None = None) -> Table:
    return table_from_file(source, "csv", column_map)


def read_xlsx(source, column_map: dict[str, str] | None = None) -> Table:
    return table_from_file(source, "xlsx", column_map)


def read_header(source, kind: str = "csv") -> tuple[list[str], list[Problem]]:
    """The header row's cells as written (for the mapping step), or why it cannot be read."""
    try:
        first = next(RECORD_READERS[kind](source), None)
    except FileProblem as error:
        return [], [error.problem]
    if first is None:
        return [], [Problem(None, None, _("The file is empty: it needs a header row."))]
    return [cell_text(cell) for cell in first[1]], []


def header_key(raw: str) -> str:
    """How a header is compared: case-insensitive, trimmed."""
    return raw.strip().lower()


NAMED_UNKNOWN_COLUMNS = 10  # more unknown columns than this are summed up in one warning


def _read_header(header: list[str], table: Table, column_map: dict[str, str]) -> dict[int, str]:
    """Map cell positions to known columns; unknown columns are warned about and ignored.

    A header that is not a caseload column is looked up in ``column_map`` (the clinic's
    own names, from the mapping step): mapped to a column, or "" to ignore it quietly.
    """
    columns: dict[int, str] = {}
    unknown: list[str] = []
    for index, raw in enumerate(header):
        name = header_key(raw)
        if name not in COLUMNS and name in column_map:
            if not column_map[name]:
                continue
            name = column_map[name]
        if name in COLUMNS:
            if name in columns.values():
                table.problems.append(Problem(1, name, _("This column appears twice in the header.")))
            columns[index] = name
        elif name:
            unknown.append(raw.strip())
    if len(unknown) <= NAMED_UNKNOWN_COLUMNS:
        table.warnings += [_("Ignoring unknown column '%(name)s'.") % {"name": name} for name in unknown]
    else:
        # A file with hundreds of extra columns gets one line, not one per column.
        table.warnings.append(
            _("Ignoring %(count)s unknown columns, among them %(names)s.")
            % {"count": len(unknown), "names": ", ".join(f"'{name}'" for name in unknown[:NAMED_UNKNOWN_COLUMNS])}
        )
    for name in REQUIRED_COLUMNS:
        if name not in columns.values():
            table.problems.append(Problem(1, name, _("The header has no %(name)s column (required).") % {"name": name}))
    return columns


# Other names clinics give the columns (after lower-casing and joining words with "_").
SYNONYMS = {
    "medical_record_number": "mrn",
    "hospital_number": "mrn",
    "patient_id": "mrn",
    "mrn_number": "mrn",
    "first": "first_name",
    "forename": "first_name",
    "given_name": "first_name",
    "last": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "dob": "date_of_birth",
    "birth_date": "date_of_birth",
    "e_mail": "email",
    "email_address": "email",
    "telephone": "phone",
    "phone_number": "phone",
    "mobile": "phone",
    "reminders": "reminders_opt_in",
    "email_reminders": "reminders_opt_in",
    "model": "pump_model",
    "pump": "pump_model",
    "pump_type": "pump_model",
    "serial": "serial_number",
    "serial_no": "serial_number",
    "pump_serial": "serial_number",
    "pump_serial_number": "serial_number",
    "pump_serial_no": "serial_number",
    "sn": "serial_number",
    "reservoir": "reservoir_ml",
    "reservoir_size": "reservoir_ml",
    "alarm_volume": "alarm_volume_ml",
    "low_reservoir_alarm": "alarm_volume_ml",
    "implanted": "implant_date",
    "implanted_on": "implant_date",
    "date_of_implant": "implant_date",
    "eri": "eri_date",
    "last_refill": "last_refill_date",
    "last_refilled": "last_refill_date",
    "refill_date": "last_refill_date",
    "volume_after_refill": "volume_after_refill_ml",
    "volume_after": "volume_after_refill_ml",
    "concentration": "concentration_mcg_ml",
    "daily_dose": "daily_dose_mcg",
    "dose": "daily_dose_mcg",
    "bolus": "bolus_allowance_mcg",
    "bolus_allowance": "bolus_allowance_mcg",
    "next_appointment_date": "next_appointment",
    "next_appt": "next_appointment",
    "next_visit": "next_appointment",
}
UNIT_WORDS = ("ml", "mcg", "mcg_ml", "mcg_day", "mcg_per_day", "date", "number", "no")


def suggest_column(raw: str) -> str | None:
    """A caseload column this header probably means ("Pump Serial #" -> serial_number), or None."""
    words = re.sub(r"[^a-z0-9]+", "_", raw.lower()).strip("_")
    candidates = [words]
    for unit in UNIT_WORDS:
        if words.endswith(f"_{unit}"):
            candidates.append(words.removesuffix(f"_{unit}"))
    for candidate in candidates:
        if candidate in COLUMNS:
            return candidate
        if candidate in SYNONYMS:
            return SYNONYMS[candidate]
        for column in COLUMNS:
            if column.startswith(f"{candidate}_") and column.removeprefix(f"{candidate}_") in UNIT_WORDS:
                return column
    return None


def parse_cells(row: SourceRow, problems: list[Problem], pump_models: dict | None = None) -> tuple[dict, set[str]]:
    """Typed values of the row's given cells, and the columns whose cells could not be read.

    ``pump_models`` (code -> PumpModel), if the caller has read them, saves a query per row.
    """
    values: dict = {}
    bad: set[str] = set()
    for column, text in row.cells.items():
        try:
            values[column] = _parse(column, text, pump_models)
        except ValueError as error:
            problems.append(Problem(row.line, column, str(error)))
            bad.add(column)
    return values, bad


def _parse(column: str, text: str, pump_models: dict | None = None):
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
        if pump_models is not None and text.lower() in pump_models:
            return pump_models[text.lower()]
        return parse_pump_model(text)
    if column == "next_appointment":
        return parse_local_datetime(text)
    return text


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
