"""The XLSX reader and column mapping in imports.columns: the same Table as a CSV."""

import io
from datetime import date, datetime, time

import openpyxl
import pytest
import time_machine

from imports.columns import cell_text, read_csv, read_header, read_xlsx, suggest_column
from imports.importer import run_import
from patients.models import Pump
from refills.models import Appointment, Refill

HEADER = [
    "mrn",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "reminders_opt_in",
    "pump_model",
    "serial_number",
    "implant_date",
    "last_refill_date",
    "volume_after_refill_ml",
    "concentration_mcg_ml",
    "daily_dose_mcg",
    "next_appointment",
]


def workbook_bytes(rows, *, extra_sheet=False) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    if extra_sheet:
        workbook.create_sheet("notes").append(["not read"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def with_cells(row: list, **cells) -> list:
    """A copy of ``row`` with the cells of the named columns replaced."""
    row = list(row)
    for column, value in cells.items():
        row[HEADER.index(column)] = value
    return row


TYPED_ROW = [
    "00123",
    "Ada",
    "Example",
    date(1980, 5, 17),
    "ada@example.invalid",
    True,
    "synchromed-ii-20",
    12345,
    datetime(2024, 1, 10),  # a date cell comes back as midnight
    date(2026, 1, 1),
    18.5,
    2000,
    400.0,
    datetime(2026, 3, 20, 10, 30),
]
CSV_TEXT = (
    ",".join(HEADER)
    + "\n00123,Ada,Example,1980-05-17,ada@example.invalid,yes,synchromed-ii-20,12345,2024-01-10,2026-01-01,18.5,2000,400,2026-03-20 10:30\n"
)


def test_typed_cells_read_as_the_text_a_csv_would_hold():
    xlsx = read_xlsx(workbook_bytes([HEADER, TYPED_ROW]))
    csv = read_csv(CSV_TEXT)

    assert xlsx.problems == [] and xlsx.warnings == []
    assert xlsx.rows == csv.rows
    assert xlsx.rows[0].cells["next_appointment"] == "2026-03-20 10:30"
    assert xlsx.rows[0].cells["implant_date"] == "2024-01-10"


def test_row_numbers_are_the_sheet_rows_blank_rows_included():
    rows = [HEADER, TYPED_ROW, [None] * len(HEADER), with_cells(TYPED_ROW, mrn="9", serial_number="S2")]

    table = read_xlsx(workbook_bytes(rows))

    assert [row.line for row in table.rows] == [2, 4]


@pytest.mark.parametrize(
    ("value", "column", "text"),
    [
        (None, None, ""),
        ("  padded ", None, "padded"),
        (False, None, "no"),
        (0.1 + 0.2, None, "0.3"),  # the float a formula leaves is read as typed
        (2.0, None, "2"),
        (1e-05, None, "0.00001"),
        (datetime(2026, 3, 20, 0, 0), "next_appointment", "2026-03-20 00:00"),
        (datetime(2026, 3, 20, 0, 0), "implant_date", "2026-03-20"),
        (datetime(2026, 3, 20, 9, 5), "implant_date", "2026-03-20 09:05"),  # then refused as not a date
        (time(9, 5), None, "09:05"),
    ],
)
def test_cell_text(value, column, text):
    assert cell_text(value, column) == text


def test_only_the_first_sheet_is_read_and_a_damaged_file_is_one_problem():
    table = read_xlsx(workbook_bytes([HEADER, TYPED_ROW], extra_sheet=True))
    assert len(table.rows) == 1 and not table.problems

    damaged = read_xlsx(b"PK\x03\x04 truncated")
    assert [str(p) for p in damaged.problems] == [
        "The file is not a readable XLSX workbook: save it again as .xlsx, or as CSV UTF-8."
    ]
    assert read_xlsx("text is not a workbook").problems == damaged.problems


def test_empty_workbook_needs_a_header():
    assert [str(p) for p in read_xlsx(workbook_bytes([])).problems] == ["The file is empty: it needs a header row."]


def test_column_map_renames_own_headers_and_ignores_chosen_ones_quietly():
    header = [*with_cells(HEADER, mrn="Hospital Number", serial_number="Pump Serial #"), "Consultant", "Ward"]
    row = [*TYPED_ROW, "Dr Who", "7"]
    column_map = {"hospital number": "mrn", "pump serial #": "serial_number", "consultant": ""}

    table = read_xlsx(workbook_bytes([header, row]), column_map)

    assert table.problems == []
    assert table.rows[0].cells["mrn"] == "00123" and table.rows[0].cells["serial_number"] == "12345"
    assert table.warnings == ["Ignoring unknown column 'Ward'."]


def test_a_map_onto_a_column_the_file_has_is_a_duplicate():
    table = read_csv("mrn,first_name,last_name,pump_model,serial_number,implant_date,Serial\n", {"serial": "mrn"})

    assert [str(p) for p in table.problems] == ["row 1, column mrn: This column appears twice in the header."]


def test_read_header_returns_the_cells_as_written():
    assert read_header(workbook_bytes([["Pump Serial #", "DOB", None]]), "xlsx") == (["Pump Serial #", "DOB", ""], [])
    assert read_header(b"MRN,Hospital No\r\nA,B\r\n") == (["MRN", "Hospital No"], [])
    headers, problems = read_header(b"\xff\xfe bad", "csv")
    assert headers == [] and "not UTF-8" in str(problems[0])


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Pump Serial #", "serial_number"),
        ("Serial No.", "serial_number"),
        ("DOB", "date_of_birth"),
        ("Surname", "last_name"),
        ("Reservoir (mL)", "reservoir_ml"),
        ("Daily dose (mcg/day)", "daily_dose_mcg"),
        ("Concentration mcg/mL", "concentration_mcg_ml"),
        ("ERI", "eri_date"),
        ("Implant date", "implant_date"),
        ("MRN", "mrn"),
        ("Consultant", None),
    ],
)
def test_suggest_column(header, column):
    assert suggest_column(header) == column


def test_xlsx_imports_through_run_import(clinic):
    with time_machine.travel("2026-03-01 10:00:00+00:00", tick=False):
        result = run_import(clinic, workbook_bytes([HEADER, TYPED_ROW]), filename="Caseload.XLSX")

    assert result.applied, [str(p) for p in result.problems]
    pump = Pump.objects.get(serial_number="12345")
    assert pump.patient.mrn == "00123" and pump.patient.reminders_opt_in is True
    refill = Refill.objects.get(pump=pump)
    assert str(refill.volume_after_ml) == "18.50" and str(refill.daily_dose_mcg) == "400.00"
    appointment = Appointment.objects.get(pump=pump)
    assert (appointment.local_date, appointment.local_time) == (date(2026, 3, 20), time(10, 30))
