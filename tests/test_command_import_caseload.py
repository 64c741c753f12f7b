"""manage.py import_caseload: all or nothing, idempotent, one set of rules (SPEC section 7)."""

from datetime import date, time
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from imports.columns import COLUMNS
from patients.models import Patient, Pump
from refills.models import Appointment, Refill
from tests.factories import PatientFactory, PumpFactory, RefillFactory

# 10:00 in London on 1 March 2026.
NOW = "2026-03-01 10:00:00+00:00"

GOOD_ROWS = [
    {
        "mrn": "A100",
        "first_name": "Ada",
        "last_name": "Example",
        "date_of_birth": "1980-05-17",
        "email": "a100@example.invalid",
        "phone": "0100 111 2222",
        "reminders_opt_in": "yes",
        "pump_model": "synchromed-ii-20",
        "serial_number": "SN-1",
        "implant_date": "2024-01-10",
        "last_refill_date": "2026-01-01",
        "volume_after_refill_ml": "20",
        "concentration_mcg_ml": "2000",
        "daily_dose_mcg": "400",
        "bolus_allowance_mcg": "0",
        "compounded": "no",
        "next_appointment": "2026-03-20 10:30",
    },
    {
        "mrn": "B200",
        "first_name": "Bo",
        "last_name": "Sample",
        "pump_model": "Prometra-II-40",
        "serial_number": "SN-2",
        "alarm_volume_ml": "4",
        "implant_date": "2023-06-01",
        "last_refill_date": "2026-02-01",
        "volume_after_refill_ml": "40",
        "concentration_mcg_ml": "1000",
        "daily_dose_mcg": "200",
        "bolus_allowance_mcg": "50",
        "reminders_opt_in": "0",
    },
    {
        "mrn": "C300",
        "first_name": "Cy",
        "last_name": "Placeholder",
        "pump_model": "other",
        "serial_number": "SN-3",
        "reservoir_ml": "30",
        "alarm_volume_ml": "3",
        "implant_date": "2022-01-01",
        "eri_date": "2027-01-01",
    },
]


def csv_text(rows, columns=COLUMNS) -> str:
    lines = [",".join(columns)]
    lines += [",".join(row.get(column, "") for column in columns) for row in rows]
    return "\n".join(lines) + "\n"


def write(tmp_path, content, name="caseload.csv"):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def run(path, *args, clinic="north"):
    out, err = StringIO(), StringIO()
    call_command("import_caseload", str(path), "--clinic", clinic, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(path, *args, clinic="north"):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_caseload", str(path), "--clinic", clinic, *args, stdout=out, stderr=err)
    return str(failure.value), err.getvalue()


def counts():
    return (Patient.objects.count(), Pump.objects.count(), Refill.objects.count(), Appointment.objects.count())


def with_changes(index, **changes):
    rows = [dict(row) for row in GOOD_ROWS]
    rows[index].update(changes)
    return rows


pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_good_file_imports_with_computed_dates(clinic, tmp_path):
    out, err = run(write(tmp_path, csv_text(GOOD_ROWS)))

    assert counts() == (3, 3, 2, 1)
    assert "patients: 3 created, 0 changed" in out
    assert "refills: 2 created, 0 changed" in out
    assert "appointments: 1 created, 0 changed" in out
    ada = Patient.objects.get(clinic=clinic, mrn="A100")
    assert ada.reminders_opt_in is True and ada.phone == "0100 111 2222"
    first = Pump.objects.get(serial_number="SN-1")
    assert first.patient == ada and first.reservoir_ml == Decimal("20") and first.alarm_volume_ml == Decimal("2")
    # 18 mL above the 2 mL alarm at 0.2 mL/day: 90 days after 1 January.
    assert (first.alarm_date, first.empty_date, first.refill_due) == (
        date(2026, 4, 1),
        date(2026, 4, 11),
        date(2026, 3, 25),
    )
    refill = first.refills.get()
    assert refill.is_initial_fill and refill.volume_removed_ml is None and not refill.compounded
    second = Pump.objects.get(serial_number="SN-2")
    # Model code is case-insensitive; custom alarm 4 mL; (200 + 50) / 1000 = 0.25 mL/day: 36 / 0.25 = 144 days.
    assert second.model.code == "prometra-ii-40" and second.alarm_volume_ml == Decimal("4")
    assert second.alarm_date == date(2026, 6, 25) and second.refill_due == date(2026, 6, 18)
    third = Pump.objects.get(serial_number="SN-3")
    assert third.replacement_due == date(2027, 1, 1) and third.replacement_estimated is False
    assert third.refill_due is None
    appointment = Appointment.objects.get()
    assert (appointment.pump, appointment.local_date, appointment.local_time) == (
        first,
        date(2026, 3, 20),
        time(10, 30),
    )
    assert appointment.status == Appointment.Status.SCHEDULED
    # Never a name or a dose in the output.
    assert "Ada" not in out + err and "Example" not in out + err and "400" not in out + err


def test_second_import_changes_nothing(clinic, tmp_path):
    path = write(tmp_path, csv_text(GOOD_ROWS))
    run(path)
    before = list(Pump.objects.values_list("pk", "updated_at", "alarm_date").order_by("pk"))

    out, _ = run(path)

    assert "total (3 rows): 0 created, 0 changed" in out
    for entity in ("patients", "pumps", "refills", "appointments"):
        assert f"{entity}: 0 created, 0 changed" in out
    assert counts() == (3, 3, 2, 1)
    assert list(Pump.objects.values_list("pk", "updated_at", "alarm_date").order_by("pk")) == before


def test_changed_phone_counts_as_changed(clinic, tmp_path):
    run(write(tmp_path, csv_text(GOOD_ROWS)))

    out, _ = run(write(tmp_path, csv_text(with_changes(0, phone="0100 999 8888")), name="v2.csv"))

    assert "patients: 0 created, 1 changed" in out
    assert "total (3 rows): 0 created, 1 changed" in out
    assert Patient.objects.get(mrn="A100").phone == "0100 999 8888"


def test_empty_cell_keeps_stored_value(clinic, tmp_path):
    run(write(tmp_path, csv_text(GOOD_ROWS)))

    out, _ = run(write(tmp_path, csv_text(with_changes(0, phone="", date_of_birth="")), name="v2.csv"))

    assert "total (3 rows): 0 created, 0 changed" in out
    assert Patient.objects.get(mrn="A100").phone == "0100 111 2222"


def test_a_later_refill_in_a_resynced_file_is_recorded(clinic, tmp_path):
    """The file has no residual column: a later fill is recorded without one (not flagged)."""
    run(write(tmp_path, csv_text(GOOD_ROWS)))
    before = Refill.objects.count()

    out, err = run(write(tmp_path, csv_text(with_changes(0, last_refill_date="2026-02-20")), "v2.csv"))

    assert err == ""
    assert Refill.objects.count() == before + 1
    later = Refill.objects.get(performed_on="2026-02-20")
    assert later.volume_removed_ml is None and not later.needs_review


def test_several_bad_rows_report_every_problem_and_write_nothing(clinic, tmp_path):
    rows = [dict(row) for row in GOOD_ROWS]
    rows[0].update(date_of_birth="17/05/1980", reminders_opt_in="maybe")
    rows[1].update(first_name="", concentration_mcg_ml="50")
    rows[2].update(eri_date="", implant_date="2030-01-01")
    rows.append({**GOOD_ROWS[0], "mrn": "D400", "serial_number": "SN-4", "next_appointment": "2026-02-01 09:00"})
    path = write(tmp_path, csv_text(rows))

    message, err = run_failing(path)

    lines = err.splitlines()
    assert "row 2, column date_of_birth: Expected a date as YYYY-MM-DD." in lines
    assert "row 2, column reminders_opt_in: Expected yes/no, true/false or 1/0." in lines
    assert "row 3, column first_name: This field is required." in lines
    assert "row 3, column concentration_mcg_ml: 50 mcg/mL is the screening strength and cannot fill a pump." in lines
    assert any(line.startswith("row 4, column implant_date: This date is in the future") for line in lines)
    assert "row 4, column eri_date: Enter the ERI date: the service life of the pump model “Other” is unknown." in lines
    assert any(line.startswith("row 5, column next_appointment: This date is in the past") for line in lines)
    assert "7 problem(s) found; nothing was imported." in message
    assert len([line for line in lines if line.startswith("row ")]) == 7
    assert counts() == (0, 0, 0, 0)


def test_line_numbers_count_blank_and_multiline_rows(clinic, tmp_path):
    good = csv_text(GOOD_ROWS[:1]).splitlines()
    content = "\n".join([good[0], good[1], "", 'X1,"Two\nLines",Name,,,,,nonsense,SN-9,,,2024-01-01']) + "\n"

    _, err = run_failing(write(tmp_path, content))

    assert "row 4, column pump_model: Unknown pump model" in err
    assert counts() == (0, 0, 0, 0)


def test_dry_run_reports_and_writes_nothing(clinic, tmp_path):
    out, _ = run(write(tmp_path, csv_text(GOOD_ROWS)), "--dry-run")

    assert "row 2 (MRN A100): patient created, pump created, refill created, appointment created" in out
    assert "row 4 (MRN C300): patient created, pump created" in out
    assert "Dry run: nothing was written" in out
    assert "patients: 3 created, 0 changed" in out
    assert counts() == (0, 0, 0, 0)


def test_dry_run_shows_changes_against_stored_data(clinic, tmp_path):
    run(write(tmp_path, csv_text(GOOD_ROWS)))

    out, _ = run(write(tmp_path, csv_text(with_changes(0, phone="0100 999 8888")), "v2.csv"), "--dry-run")

    assert "row 2 (MRN A100): patient changed (phone), pump unchanged" in out
    assert Patient.objects.get(mrn="A100").phone == "0100 111 2222"


def test_header_is_case_insensitive_and_trimmed_and_extra_columns_warn(clinic, tmp_path):
    columns = [f"  {column.upper()} " for column in COLUMNS] + ["Ward"]
    rows = [{**row, "  WARD ": ""} for row in GOOD_ROWS]
    content = csv_text([{f"  {k.upper()} ": v for k, v in row.items()} for row in rows], columns)

    out, err = run(write(tmp_path, content))

    assert "Warning: Ignoring unknown column 'Ward'." in err
    assert counts() == (3, 3, 2, 1)


def test_utf8_bom_is_accepted(clinic, tmp_path):
    run(write(tmp_path, b"\xef\xbb\xbf" + csv_text(GOOD_ROWS).encode("utf-8")))

    assert Patient.objects.filter(mrn="A100").exists()


def test_non_utf8_file_is_one_clear_error(clinic, tmp_path):
    content = csv_text(with_changes(1, last_name="Müller")).encode("latin-1")

    message, err = run_failing(write(tmp_path, content))

    assert err.strip() == (
        "The file is not UTF-8 text (first bad byte on line 3): save it as 'CSV UTF-8' and try again."
    )
    assert counts() == (0, 0, 0, 0)


def test_missing_required_columns_are_reported(clinic, tmp_path):
    columns = [c for c in COLUMNS if c not in ("serial_number", "implant_date")]

    _, err = run_failing(write(tmp_path, csv_text(GOOD_ROWS, columns)))

    assert "row 1, column serial_number: The header has no serial_number column (required)." in err
    assert "row 1, column implant_date: The header has no implant_date column (required)." in err
    assert counts() == (0, 0, 0, 0)


def test_compounded_concentration_needs_the_compounded_column(clinic, tmp_path):
    refused = write(tmp_path, csv_text(with_changes(0, concentration_mcg_ml="1500")), "refused.csv")
    _, err = run_failing(refused)
    assert "row 2, column concentration_mcg_ml: 1500 mcg/mL is not a standard strength" in err
    assert counts() == (0, 0, 0, 0)

    accepted = write(tmp_path, csv_text(with_changes(0, concentration_mcg_ml="1500", compounded="yes")), "ok.csv")
    run(accepted)
    refill = Refill.objects.get(pump__serial_number="SN-1")
    assert refill.compounded is True and refill.concentration_mcg_ml == Decimal("1500")


def test_a_concentration_in_mg_per_ml_is_refused_even_compounded(clinic, tmp_path):
    # "2" meant 2 mg/mL: at 2 mcg/mL the pump would plan 200 mL/day and be empty the day it
    # was filled. The same RefillForm rules as the page: the unit error and the refill due.
    path = write(tmp_path, csv_text(with_changes(0, concentration_mcg_ml="2", compounded="yes")))
    _, err = run_failing(path)
    assert (
        "row 2, column concentration_mcg_ml: 2 mcg/mL is far below any pump strength: did you mean "
        "2000 mcg/mL (2 mg/mL)? Enter mcg/mL."
    ) in err.splitlines()
    assert counts() == (0, 0, 0, 0)


def test_a_fill_that_leaves_the_pump_due_on_its_own_date_is_refused(clinic, tmp_path):
    # 5 mL at 500 mcg/mL and 2000 mcg/day: 4 mL/day, alarming the day of the fill. The file
    # has no tick for it (its dose counts as confirmed, never its dates).
    rows = with_changes(0, volume_after_refill_ml="5", concentration_mcg_ml="500", daily_dose_mcg="2000")
    _, err = run_failing(write(tmp_path, csv_text(rows)))
    assert (
        "row 2, column last_refill_date: With this refill the pump would alarm on Thu 1 Jan 2026, not after "
        "Thu 1 Jan 2026, the day of the refill"
    ) in err
    assert counts() == (0, 0, 0, 0)


def test_an_old_fill_of_a_pump_now_overdue_is_imported(clinic, tmp_path):
    # A refill due long past (the pump is overdue today) is the clinic's record, not a slip.
    run(write(tmp_path, csv_text(with_changes(0, last_refill_date="2025-09-01"))))
    assert Pump.objects.get(serial_number="SN-1").refill_due == date(2025, 11, 23)


def test_duplicate_mrn_and_serial_in_one_file(clinic, tmp_path):
    rows = [*GOOD_ROWS, {**GOOD_ROWS[2], "serial_number": "SN-5"}, {**GOOD_ROWS[1], "mrn": "E500"}]

    _, err = run_failing(write(tmp_path, csv_text(rows)))

    assert "row 5, column mrn: The same MRN is also on row 4." in err
    assert "row 6, column serial_number: The same serial number is also on row 3." in err
    assert counts() == (0, 0, 0, 0)


def test_serial_of_another_patients_pump_is_refused(clinic, tmp_path):
    PumpFactory(patient=PatientFactory(clinic=clinic, mrn="Z999"), serial_number="SN-1")

    _, err = run_failing(write(tmp_path, csv_text(GOOD_ROWS)))

    assert "row 2, column serial_number: This serial number belongs to the pump of another patient (MRN Z999)." in err
    assert Patient.objects.filter(clinic=clinic).count() == 1


def test_unusual_dose_is_taken_as_confirmed(clinic, tmp_path):
    run(write(tmp_path, csv_text(with_changes(0, daily_dose_mcg="1500"))))

    assert Refill.objects.get(pump__serial_number="SN-1").daily_dose_mcg == Decimal("1500")


def test_dose_above_3000_is_still_refused(clinic, tmp_path):
    _, err = run_failing(write(tmp_path, csv_text(with_changes(0, daily_dose_mcg="3500"))))

    assert "row 2, column daily_dose_mcg: The daily dose cannot exceed 3000 mcg/day." in err
    assert counts() == (0, 0, 0, 0)


def test_concentration_change_since_an_earlier_fill_counts_as_bridged(clinic, tmp_path):
    pump = PumpFactory(patient=PatientFactory(clinic=clinic, mrn="A100"), serial_number="SN-1")
    RefillFactory(pump=pump, performed_on=date(2025, 12, 1), is_initial_fill=True, concentration_mcg_ml=1000)
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), volume_removed_ml=Decimal("8"), concentration_mcg_ml=1000)

    out, _ = run(write(tmp_path, csv_text(GOOD_ROWS[:1])))

    assert "refills: 0 created, 1 changed" in out
    refill = pump.refills.get(performed_on=date(2026, 1, 1))
    assert refill.concentration_mcg_ml == Decimal("2000") and refill.bridge_bolus_confirmed is True
    assert refill.volume_removed_ml == Decimal("8")  # not in the file: kept


def test_patient_with_another_active_pump_is_refused(clinic, tmp_path):
    PumpFactory(patient=PatientFactory(clinic=clinic, mrn="A100"), serial_number="OLD-1")

    _, err = run_failing(write(tmp_path, csv_text(GOOD_ROWS[:1])))

    assert "row 2, column serial_number: The patient already has an active pump (serial OLD-1)" in err
    assert Pump.objects.count() == 1


def test_appointment_earlier_today_is_refused(clinic, tmp_path):
    _, err = run_failing(write(tmp_path, csv_text(with_changes(0, next_appointment="2026-03-01 09:30"))))

    assert "row 2, column next_appointment: This appointment time has already passed." in err
    assert counts() == (0, 0, 0, 0)


def test_reminders_without_email_are_imported_with_a_warning_on_the_email_column(clinic, tmp_path):
    """Issue 12 item 7 (SPEC 4) changes this: it was an error that failed the whole import."""
    out, err = run(write(tmp_path, csv_text(with_changes(0, email=""))))

    assert err.splitlines() == [
        "row 2, column email: warning: Reminders are on but there is no email address: "
        "this patient cannot be reminded until one is added."
    ]
    assert "Import complete." in out
    assert counts() == (3, 3, 2, 1)
    ada = Patient.objects.get(mrn="A100")
    assert ada.reminders_opt_in is True and ada.email == ""


def test_reminders_without_email_warn_on_a_dry_run_and_on_an_update_too(clinic, tmp_path):
    run(write(tmp_path, csv_text(GOOD_ROWS)))
    Patient.objects.filter(mrn="B200").update(reminders_opt_in=True)  # B200 has no email

    out, err = run(write(tmp_path, csv_text(with_changes(1, reminders_opt_in="yes")), "v2.csv"), "--dry-run")

    assert "row 3, column email: warning: Reminders are on but there is no email address" in err
    assert "Dry run: nothing was written" in out


def test_every_problem_of_a_row_is_reported_in_one_pass(clinic, tmp_path):
    """Issue 12 item 8: a wrong pump model hid a 50 mcg/mL concentration on the same row."""
    rows = with_changes(0, pump_model="medtronic-x", concentration_mcg_ml="50", email="not-an-email")
    rows[1].update(last_refill_date="", daily_dose_mcg="3500")  # no date: the dose is still checked
    rows[2].update(serial_number="SN-1", first_name="")  # a duplicate serial: the rest still checked

    _, err = run_failing(write(tmp_path, csv_text(rows)))

    problems = [line for line in err.splitlines() if line.startswith("row ")]
    assert problems == [
        "row 2, column email: Enter a valid email address.",
        "row 2, column pump_model: Unknown pump model; use one of: other, prometra-ii-20, prometra-ii-40, "
        "synchromed-ii-20, synchromed-ii-40.",
        "row 2, column concentration_mcg_ml: 50 mcg/mL is the screening strength and cannot fill a pump.",
        "row 3, column last_refill_date: Give the date of the last refill with its volume, concentration and dose.",
        "row 3, column daily_dose_mcg: The daily dose cannot exceed 3000 mcg/day.",
        "row 4, column first_name: This field is required.",
        "row 4, column serial_number: The same serial number is also on row 2.",
    ]
    assert counts() == (0, 0, 0, 0)


def test_a_fill_on_a_pump_without_a_valid_model_is_checked_against_the_largest_reservoir(clinic, tmp_path):
    rows = with_changes(0, pump_model="medtronic-x", volume_after_refill_ml="150", daily_dose_mcg="0")
    rows[1].update(pump_model="unknown", volume_after_refill_ml="45")  # may fit its reservoir: not judged

    _, err = run_failing(write(tmp_path, csv_text(rows)))

    assert (
        "row 2, column volume_after_refill_ml: The volume must be more than 0 and at most 100 mL (the largest "
        "reservoir); it is checked against this pump's own reservoir once the pump's columns are valid."
    ) in err
    assert "row 2, column daily_dose_mcg: The daily dose must be more than 0 mcg/day." in err
    assert [line.split(":")[0] for line in err.splitlines() if line.startswith("row 3")] == ["row 3, column pump_model"]


def test_every_problem_of_a_row_for_a_patient_already_on_record(clinic, tmp_path):
    """The same in a re-import (rows checked against the stored patient and pump)."""
    run(write(tmp_path, csv_text(GOOD_ROWS)))
    rows = with_changes(0, implant_date="2030-01-01", concentration_mcg_ml="50", last_refill_date="2026-02-20")
    rows[0].update(reservoir_ml="150", date_of_birth="2030-01-01")

    _, err = run_failing(write(tmp_path, csv_text(rows), "v2.csv"))

    columns = [line.split(":")[0] for line in err.splitlines() if line.startswith("row ")]
    assert columns == [
        "row 2, column date_of_birth",
        "row 2, column reservoir_ml",
        "row 2, column implant_date",
        "row 2, column concentration_mcg_ml",
    ]
    assert Refill.objects.count() == 2 and Pump.objects.get(serial_number="SN-1").implant_date == date(2024, 1, 10)


def test_unknown_clinic_and_missing_file(clinic, tmp_path):
    message, _ = run_failing(write(tmp_path, csv_text(GOOD_ROWS)), clinic="nowhere")
    assert "no clinic with slug 'nowhere'" in message

    message, _ = run_failing(tmp_path / "missing.csv")
    assert "Cannot read" in message


def test_a_fill_on_a_stored_pump_whose_row_is_invalid_is_checked_against_that_pump(clinic, tmp_path):
    """Its own reservoir (20 mL) and its earlier fill (1 Jan), though the row's pump columns are wrong."""
    run(write(tmp_path, csv_text(GOOD_ROWS)))
    rows = with_changes(0, alarm_volume_ml="25", last_refill_date="2025-12-01", volume_after_refill_ml="25")

    _, err = run_failing(write(tmp_path, csv_text(rows), "v2.csv"))

    problems = [line for line in err.splitlines() if line.startswith("row ")]
    assert problems == [
        "row 2, column alarm_volume_ml: The alarm volume must be between 0.5 and 10 mL.",
        "row 2, column last_refill_date: This date is before the previous fill (Thu 1 Jan 2026).",
        "row 2, column volume_after_refill_ml: The volume after refill must be more than 0 and at most the "
        "20 mL reservoir.",
    ]
    assert Refill.objects.count() == 2 and Pump.objects.get(serial_number="SN-1").alarm_volume_ml == 2
