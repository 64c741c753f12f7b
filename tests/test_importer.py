"""imports.importer: the code path the command and the browser upload share."""

from io import BytesIO

import pytest
import time_machine

from imports.columns import COLUMNS
from imports.importer import CHANGED, CREATED, UNCHANGED, run_import
from patients.models import Patient, Pump
from refills.models import Refill
from tests.test_command_import_caseload import GOOD_ROWS, csv_text, with_changes

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel("2026-03-01 10:00:00+00:00", tick=False):
        yield


def test_preview_reports_what_applying_does(clinic):
    content = csv_text(GOOD_ROWS).encode()

    preview = run_import(clinic, content, dry_run=True)
    assert preview.ok and not preview.applied
    assert Patient.objects.count() == 0

    applied = run_import(clinic, BytesIO(content), filename="caseload.csv")
    assert applied.applied
    assert applied.counts() == preview.counts()
    assert [row.actions for row in applied.rows] == [row.actions for row in preview.rows]
    assert applied.rows[0].actions == {
        "patient": CREATED,
        "pump": CREATED,
        "refill": CREATED,
        "appointment": CREATED,
    }


def test_changed_fields_are_named_not_their_values(clinic):
    run_import(clinic, csv_text(GOOD_ROWS))

    result = run_import(clinic, csv_text(with_changes(1, alarm_volume_ml="3.5", phone="0100 555 0000")))

    row = result.rows[1]
    assert row.actions == {"patient": CHANGED, "pump": CHANGED, "refill": UNCHANGED}
    assert row.changed_fields == {"patient": ["phone"], "pump": ["alarm_volume_ml"]}
    assert (
        row.describe() == "row 3 (MRN B200): patient changed (phone), pump changed (alarm_volume_ml), refill unchanged"
    )
    # The new alarm volume moves the stored alarm date: 36.5 mL / 0.25 mL/day = 146 days after 1 Feb.
    assert str(Pump.objects.get(serial_number="SN-2").alarm_date) == "2026-06-27"


def test_refill_columns_without_a_date_are_a_problem(clinic):
    result = run_import(clinic, csv_text(with_changes(0, last_refill_date="")))

    assert [str(p) for p in result.problems] == [
        "row 2, column last_refill_date: Give the date of the last refill with its volume, concentration and dose."
    ]
    assert Refill.objects.count() == 0


def test_invalid_row_leaves_no_stand_in_behind(clinic):
    """A row checked against a stand-in patient and pump is rolled back with its savepoint."""
    rows = with_changes(0, first_name="", implant_date="2030-01-01")

    result = run_import(clinic, csv_text(rows))

    assert {(p.line, p.column) for p in result.problems} == {(2, "first_name"), (2, "implant_date")}
    assert not result.applied and result.rows[0].actions == {}
    assert Patient.objects.count() == 0 and Pump.objects.count() == 0


def test_rows_after_a_bad_one_are_still_checked_and_planned(clinic):
    rows = [with_changes(0, email="not-an-email")[0], GOOD_ROWS[1], {**GOOD_ROWS[2], "serial_number": "SN-1"}]

    result = run_import(clinic, csv_text(rows))

    assert [str(p) for p in result.problems] == [
        "row 2, column email: Enter a valid email address.",
        "row 4, column serial_number: The same serial number is also on row 2.",
    ]
    assert result.rows[1].actions == {"patient": CREATED, "pump": CREATED, "refill": CREATED}
    assert Patient.objects.count() == 0


def test_text_input_and_header_only(clinic):
    result = run_import(clinic, ",".join(COLUMNS) + "\n")

    assert result.ok and result.rows == []
    assert result.summary_lines()[-1] == "total (0 rows): 0 created, 0 changed"


def test_empty_file_and_xlsx_are_file_problems(clinic):
    assert [str(p) for p in run_import(clinic, b"").problems] == ["The file is empty: it needs a header row."]
    xlsx = run_import(clinic, b"PK\x03\x04", filename="caseload.xlsx")
    assert "not a readable XLSX workbook" in str(xlsx.problems[0])


def test_duplicate_header_column_is_a_problem(clinic):
    result = run_import(clinic, ",".join([*COLUMNS, "MRN"]) + "\n")

    assert [str(p) for p in result.problems] == ["row 1, column mrn: This column appears twice in the header."]


def test_a_later_fill_in_a_reimported_file_is_recorded_without_a_residual(clinic):
    """A clinic re-syncs from its spreadsheet after a refill: the file has no residual column."""
    run_import(clinic, csv_text(GOOD_ROWS))
    pump = Pump.objects.get(serial_number="SN-1")
    before = pump.refill_due

    result = run_import(clinic, csv_text(with_changes(0, last_refill_date="2026-02-20")))

    assert result.applied, [str(p) for p in result.problems]
    assert result.rows[0].actions["refill"] == CREATED
    latest = pump.refills.order_by("-performed_on").first()
    assert str(latest.performed_on) == "2026-02-20"
    assert latest.volume_removed_ml is None and latest.residual_discrepancy_ml is None
    assert not latest.needs_review and not latest.is_initial_fill
    pump.refresh_from_db()
    assert str(pump.last_refill_date) == "2026-02-20" and pump.refill_due > before
    # The same file again changes nothing.
    again = run_import(clinic, csv_text(with_changes(0, last_refill_date="2026-02-20")))
    assert again.counts()["refill"] == {"created": 0, "changed": 0}


def test_the_refill_form_still_requires_the_residual(clinic):
    """Only the import takes a later fill without its residual: the refill page asks for it."""
    from refills.forms import RefillForm

    run_import(clinic, csv_text(GOOD_ROWS))
    pump = Pump.objects.get(serial_number="SN-1")
    data = {
        "performed_on": "2026-02-20",
        "volume_added_ml": "18",
        "volume_after_ml": "20",
        "concentration_mcg_ml": "2000",
        "daily_dose_mcg": "400",
        "dosing_mode": "simple",
    }
    form = RefillForm(data, pump=pump, today=pump.clinic.today())
    assert not form.is_valid()
    assert "volume_removed_ml" in form.errors
