"""Property-based fuzzing of the caseload import (issue 3, item 6 "Bad input").

The import reads whatever a clinic uploads: cells with hostile values, files in the
wrong encoding, random bytes, broken quoting. ``run_import`` (the code path of the
browser upload) and the ``import_caseload`` command must always answer with problems
naming the row and column (or the whole file), never an exception, and an import with
any problem must write nothing, not even the rows that were fine.
"""

import csv
import io
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from clinic.spreadsheet_cells import FORMULA_STARTS, spreadsheet_safe, unquote
from imports.columns import COLUMNS
from imports.importer import run_import
from patients.models import Patient, Pump
from refills.models import Appointment, Refill
from tests.test_command_import_caseload import GOOD_ROWS, NOW
from tests.test_fuzz_forms import NASTY


def fuzz(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def csv_bytes(rows, columns=COLUMNS, encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return out.getvalue().encode(encoding)


GOOD_CSV = csv_bytes(GOOD_ROWS)


def db_state() -> dict:
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (Patient, Pump, Refill, Appointment, LogEntry)
    }


def check_import(clinic, content, *, dry_run=False, filename=None):
    """Import; a result with problems (or a dry run) must leave the database as it was."""
    before = db_state()
    result = run_import(clinic, content, dry_run=dry_run, filename=filename)
    for problem in result.problems:
        assert problem.message.strip(), "every problem says what is wrong"
    if result.ok and not dry_run:
        assert result.applied
    else:
        assert not result.applied
        assert db_state() == before, "an import with problems, or a preview, writes nothing"
    return result


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def imported(clinic):
    """The good file already imported, so fuzzed rows change existing records too."""
    assert run_import(clinic, GOOD_CSV).applied
    return clinic


# --- cells ----------------------------------------------------------------------------------

ROW_CHANGES = st.dictionaries(
    st.tuples(st.integers(min_value=0, max_value=len(GOOD_ROWS) - 1), st.sampled_from(COLUMNS)),
    NASTY,
    min_size=1,
    max_size=5,
)


@fuzz(80)
@given(changes=ROW_CHANGES, dry_run=st.booleans())
def test_hostile_cells_are_row_problems(imported, changes, dry_run):
    rows = [dict(row) for row in GOOD_ROWS]
    for (index, column), value in changes.items():
        rows[index][column] = value
    result = check_import(imported, csv_bytes(rows), dry_run=dry_run)
    if any("\x00" in value for value in changes.values()):
        assert "NUL character" in str(result.problems[0])
    else:
        # The file is well-formed CSV, so every problem is a row's (the header is row 1) and names a column.
        assert all(problem.line >= 2 and problem.column in COLUMNS for problem in result.problems)


# --- whole files ----------------------------------------------------------------------------

# Edits that break a CSV: stray quotes, separators, line breaks, NUL, BOMs, non-UTF-8 bytes.
BREAKERS = st.sampled_from(['"', '""', ",", "\n", "\r", "\r\n", "\x00", "\ufeff", "\\", ";", "\t", "é", "\u2028"])
INSERTIONS = st.lists(st.tuples(st.integers(min_value=0, max_value=len(GOOD_CSV)), BREAKERS), min_size=1, max_size=6)


@fuzz(60)
@given(insertions=INSERTIONS)
def test_broken_csv_syntax_is_a_problem_not_a_crash(imported, insertions):
    text = GOOD_CSV.decode()
    for position, piece in sorted(insertions, reverse=True):
        text = text[:position] + piece + text[position:]
    check_import(imported, text.encode())


@fuzz(60)
@given(
    content=st.one_of(
        st.binary(max_size=400),
        st.binary(max_size=300).map(lambda tail: GOOD_CSV.split(b"\n")[0] + b"\n" + tail),
        st.binary(max_size=200).map(lambda tail: GOOD_CSV + tail),
        st.text(max_size=300).map(str.encode),
    ),
    filename=st.sampled_from([None, "caseload.csv", "caseload.xlsx", "caseload.CSV", "caseload", "x.txt"]),
)
def test_random_bytes_are_a_file_problem(imported, content, filename):
    check_import(imported, content, filename=filename)


ENCODINGS = ["latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "mac_roman", "utf-8-sig", "utf-8"]


@fuzz(30)
@given(encoding=st.sampled_from(ENCODINGS), name=st.text(min_size=1, max_size=20))
def test_wrong_encodings_are_named(clinic, encoding, name):
    rows = [dict(GOOD_ROWS[0], first_name=name.strip() or "Zoë", last_name="Müller")]
    try:
        content = csv_bytes(rows, encoding=encoding)
    except UnicodeEncodeError:
        content = csv_bytes(rows).decode().encode(encoding, errors="replace")
    result = check_import(clinic, content)
    if encoding in ("utf-8", "utf-8-sig") and result.ok:
        assert Patient.objects.get(mrn="A100").last_name == "Müller"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The file is empty"),
        (b"\xef\xbb\xbf", "The file is empty"),
        (b"\n\n", "The header has no mrn column"),
        (b"mrn,first_name\n", "The header has no last_name column"),
        (GOOD_CSV.decode().encode("utf-16"), "not UTF-8"),
        (GOOD_CSV.decode().encode("utf-16-le"), "NUL character (line 1)"),
        (GOOD_CSV.decode().replace("Example", "Müller").encode("latin-1"), "not UTF-8"),
        # An unclosed quote takes the rest of the file into one cell.
        (GOOD_CSV.replace(b"Ada", b'"Ada'), "row 2, column first_name: Ensure this value has at most 100 characters"),
        (GOOD_CSV.split(b"\n")[0] + b"\n" + b"A1," + b"x" * 200_000 + b"\n", "malformed"),
    ],
)
def test_unreadable_files_are_explained(clinic, content, message):
    result = check_import(clinic, content)
    assert not result.ok
    assert any(message in str(problem) for problem in result.problems), [str(p) for p in result.problems]


def test_header_only_imports_nothing(clinic):
    result = check_import(clinic, GOOD_CSV.split(b"\n")[0] + b"\n")
    assert result.ok and result.rows == []
    assert Patient.objects.count() == 0


def test_bom_and_crlf_are_fine(clinic):
    result = check_import(clinic, b"\xef\xbb\xbf" + GOOD_CSV.replace(b"\n", b"\r\n"))
    assert result.ok and Patient.objects.count() == len(GOOD_ROWS)


@pytest.mark.parametrize(
    "column", ["mrn", "first_name", "serial_number", "phone", "email", "pump_model", "daily_dose_mcg"]
)
def test_a_nul_byte_in_a_cell_refuses_the_file(imported, column):
    """PostgreSQL refuses NUL even in a lookup: the MRN, serial and pump model were looked up
    before any form saw them (a DataError, a 500). No CSV text holds a NUL, so the file is refused."""
    rows = [dict(row) for row in GOOD_ROWS]
    rows[1][column] = "B2\x0000"
    result = check_import(imported, csv_bytes(rows))
    assert [str(p) for p in result.problems] == [
        "The file contains a NUL character (line 3): save it as 'CSV UTF-8' and try again."
    ]


def test_a_nul_byte_in_the_header_refuses_the_file(clinic):
    result = check_import(clinic, GOOD_CSV.replace(b"phone", b"pho\x00ne", 1))
    assert "NUL character (line 1)" in str(result.problems[0])


def test_huge_and_non_finite_numbers_are_row_problems(imported):
    rows = [dict(row) for row in GOOD_ROWS]
    rows[0].update(daily_dose_mcg="1" + "0" * 40, volume_after_refill_ml="NaN", concentration_mcg_ml="1e30")
    rows[1].update(alarm_volume_ml="Infinity", bolus_allowance_mcg="-50")
    rows[2].update(reservoir_ml="-0")
    result = check_import(imported, csv_bytes(rows))
    assert {(p.line, p.column) for p in result.problems} >= {
        (2, "daily_dose_mcg"),
        (2, "volume_after_refill_ml"),
        (2, "concentration_mcg_ml"),
        (3, "alarm_volume_ml"),
        (3, "bolus_allowance_mcg"),
        (4, "reservoir_ml"),
    }
    assert Refill.objects.get(pump__serial_number="SN-1").daily_dose_mcg == Decimal(400)


@pytest.mark.parametrize(
    "changes, column",
    [
        # A year-1 implant with a fill below the alarm volume overflowed the refill due date (a 500).
        (
            {"implant_date": "0001-01-01", "last_refill_date": "0001-01-01", "volume_after_refill_ml": "1"},
            "implant_date",
        ),
        ({"implant_date": "2026-02-30"}, "implant_date"),
        ({"implant_date": "9999-12-31"}, "implant_date"),
        ({"last_refill_date": "2026-03-02"}, "last_refill_date"),
        ({"date_of_birth": "0001-01-01"}, "date_of_birth"),
        ({"next_appointment": "9999-12-31 10:00"}, "next_appointment"),
    ],
)
def test_dates_off_the_calendar_are_row_problems(clinic, changes, column):
    result = check_import(clinic, csv_bytes([dict(GOOD_ROWS[0], **changes)]))
    assert (2, column) in [(p.line, p.column) for p in result.problems]


# --- the command ----------------------------------------------------------------------------


@fuzz(25)
@given(
    content=st.one_of(
        st.binary(max_size=300),
        ROW_CHANGES.map(
            lambda changes: csv_bytes(
                [
                    {**row, **{column: value for (index, column), value in changes.items() if index == i}}
                    for i, row in enumerate(GOOD_ROWS)
                ]
            )
        ),
    ),
    dry_run=st.booleans(),
)
def test_import_command_fails_cleanly(imported, tmp_path, content, dry_run):
    path = tmp_path / "caseload.csv"
    path.write_bytes(content)
    before = db_state()
    out, err = StringIO(), StringIO()
    args = [str(path), "--clinic", imported.slug, *(["--dry-run"] if dry_run else [])]
    try:
        call_command("import_caseload", *args, stdout=out, stderr=err)
    except CommandError as error:
        assert "nothing was imported" in str(error) and err.getvalue().strip()
        assert db_state() == before
    else:
        if dry_run:
            assert db_state() == before
        assert "created" in out.getvalue()


@given(st.text(alphabet=st.sampled_from(["'", "=", "+", "-", "@", "\t", "\r", "a", "1", " ", "\x07"]), max_size=8))
@settings(max_examples=400, deadline=None)
def test_a_neutralised_cell_never_starts_a_formula_and_reads_back_as_written(text):
    """Issue 13, defect 1: clinic.spreadsheet_cells, export side and import side."""
    exported = spreadsheet_safe(text)
    assert not exported.startswith(FORMULA_STARTS)
    assert unquote(exported) == ILLEGAL_CHARACTERS_RE.sub("", text)
    assert spreadsheet_safe(-4.25) == -4.25  # numbers are not text
