"""Whole-clinic export in the import format: export, import into an empty clinic, same caseload report.

The format carries the last refill only (with its own recorded dose), so the seed has
program changes before a last refill but none after it; risk flags are not in the
format either, so no seeded patient has one (see imports/export.py).
"""

import csv
import io
import json
from datetime import date, time
from decimal import Decimal
from io import StringIO

import openpyxl
import pytest
import time_machine
from auditlog.models import LogEntry
from django.core.management import call_command
from django.urls import reverse

from imports.columns import COLUMNS
from imports.importer import run_import
from patients.models import Patient, Pump
from refills.models import Appointment
from tests.factories import (
    AppointmentFactory,
    ClinicFactory,
    PatientFactory,
    ProgramChangeFactory,
    PumpFactory,
    RefillFactory,
    pump_model,
)

NOW = "2026-03-01 10:00:00+00:00"  # 10:00 in London
AS_OF = "2026-03-01"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def seed(clinic):
    """Varied invented data: every status, booked / late / unbooked, compounded, other model, history."""
    # ok, booked; an earlier cycle with a program change, a later review visit and past visits.
    a = PatientFactory(clinic=clinic, mrn="A100", reminders_opt_in=True)
    pump_a = PumpFactory(patient=a, serial_number="SN-A", implant_date=date(2024, 1, 10))
    RefillFactory(pump=pump_a, performed_on=date(2025, 10, 1), is_initial_fill=True)
    ProgramChangeFactory(pump=pump_a, performed_on=date(2025, 11, 1), daily_dose_mcg=Decimal("300"))
    RefillFactory(
        pump=pump_a,
        performed_on=date(2026, 2, 10),
        volume_removed_ml=Decimal("4.5"),
        volume_after_ml=Decimal("19.5"),
        daily_dose_mcg=Decimal("350"),
        bolus_allowance_mcg=Decimal("25"),
    )
    AppointmentFactory(patient=a, pump=pump_a, local_date=date(2026, 4, 20), local_time=time(10, 30))
    AppointmentFactory(
        patient=a, pump=pump_a, kind=Appointment.Kind.REVIEW, local_date=date(2026, 5, 5), local_time=time(9, 0)
    )
    AppointmentFactory(
        patient=a,
        pump=pump_a,
        local_date=date(2026, 2, 10),
        local_time=time(9, 0),
        status=Appointment.Status.COMPLETED,
    )
    AppointmentFactory(
        patient=a,
        pump=pump_a,
        local_date=date(2026, 3, 10),
        local_time=time(9, 0),
        status=Appointment.Status.CANCELLED,
    )

    # Prometra 40 mL with its own alarm volume and a bolus: due soon, booked late.
    b = PatientFactory(clinic=clinic, mrn="B200", date_of_birth=None, email="", phone="")
    pump_b = PumpFactory(
        patient=b,
        model=pump_model("prometra-ii-40"),
        serial_number="SN-B",
        alarm_volume_ml=Decimal("4"),
        implant_date=date(2023, 6, 1),
    )
    RefillFactory(
        pump=pump_b,
        performed_on=date(2025, 12, 1),
        volume_after_ml=Decimal("40"),
        concentration_mcg_ml=Decimal("1000"),
        daily_dose_mcg=Decimal("300"),
        bolus_allowance_mcg=Decimal("50"),
        is_initial_fill=True,
    )
    AppointmentFactory(patient=b, pump=pump_b, local_date=date(2026, 6, 1), local_time=time(14, 0))

    # Other model (ERI given), no fill recorded.
    c = PatientFactory(clinic=clinic, mrn="C300")
    PumpFactory(
        patient=c,
        model=pump_model("other"),
        serial_number="SN-C",
        reservoir_ml=Decimal("30"),
        alarm_volume_ml=Decimal("3"),
        eri_date=date(2027, 1, 1),
        implant_date=date(2022, 1, 1),
    )

    # Compounded concentration, alarming, unbooked; an ERI on a SynchroMed (stop date).
    d = PatientFactory(clinic=clinic, mrn="D400")
    pump_d = PumpFactory(patient=d, serial_number="SN-D", implant_date=date(2019, 3, 1), eri_date=date(2026, 2, 1))
    RefillFactory(
        pump=pump_d,
        performed_on=date(2025, 11, 25),
        volume_after_ml=Decimal("20"),
        concentration_mcg_ml=Decimal("1500"),
        compounded=True,
        daily_dose_mcg=Decimal("300"),
        is_initial_fill=True,
    )

    # Empty pump; a visit later today (still to come, so it is exported).
    e = PatientFactory(clinic=clinic, mrn="E500")
    pump_e = PumpFactory(patient=e, serial_number="SN-E", implant_date=date(2024, 5, 1))
    RefillFactory(pump=pump_e, performed_on=date(2025, 9, 1), volume_after_ml=Decimal("10"), is_initial_fill=True)
    AppointmentFactory(patient=e, pump=pump_e, local_date=date(2026, 3, 1), local_time=time(15, 0))

    # Replaced pump: the explanted one stays behind, the new one is exported.
    f = PatientFactory(clinic=clinic, mrn="F600")
    PumpFactory(patient=f, serial_number="SN-F-OLD", status=Pump.Status.EXPLANTED, explant_date=date(2025, 11, 1))
    pump_f = PumpFactory(
        patient=f, model=pump_model("prometra-ii-20"), serial_number="SN-F", implant_date=date(2025, 11, 1)
    )
    RefillFactory(pump=pump_f, performed_on=date(2025, 11, 1), daily_dose_mcg=Decimal("10"), is_initial_fill=True)
    # (10 mcg/day is outside 20-1200: the file counts as confirmed.)

    # Not followed any more: not exported, not in the report.
    g = PatientFactory(clinic=clinic, mrn="G700", status=Patient.Status.TRANSFERRED)
    RefillFactory(
        pump=PumpFactory(patient=g, serial_number="SN-G"), performed_on=date(2026, 1, 5), is_initial_fill=True
    )


def report(clinic) -> list[dict]:
    out = StringIO()
    call_command("caseload_report", "--clinic", clinic.slug, "--as-of", AS_OF, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def seeded(clinic):
    seed(clinic)
    return clinic


def test_csv_round_trip_reproduces_the_caseload_report(seeded, client, staff):
    client.force_login(staff)

    response = client.get(reverse("export_clinic"), {"format": "csv"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="north-caseload-2026-03-01.csv"'
    empty = ClinicFactory(slug="new-home", name="New Home", time_zone=seeded.time_zone)
    result = run_import(empty, response.content, filename="export.csv")
    assert result.applied, [str(p) for p in result.problems]
    assert result.warnings == []
    original = report(seeded)
    assert {row["status"] for row in original} == {"ok", "due_soon", "alarming", "empty", "no_fill"}
    assert {row["booked"] for row in original} == {"booked", "late", "unbooked"}
    assert report(empty) == original


def test_xlsx_round_trip_reproduces_the_caseload_report(seeded, client, staff):
    client.force_login(staff)

    response = client.get(reverse("export_clinic"), {"format": "xlsx"})

    empty = ClinicFactory(slug="new-home", name="New Home", time_zone=seeded.time_zone)
    result = run_import(empty, response.content, filename="export.xlsx")
    assert result.applied, [str(p) for p in result.problems]
    assert report(empty) == report(seeded)


def test_export_rows_hold_the_last_refill_and_next_appointment(seeded, client, staff):
    client.force_login(staff)

    content = client.get(reverse("export_clinic")).content.decode("utf-8-sig")

    rows = list(csv.DictReader(io.StringIO(content)))
    assert list(rows[0]) == list(COLUMNS)
    assert [row["mrn"] for row in rows] == ["A100", "B200", "C300", "D400", "E500", "F600"]
    a = rows[0]
    assert (a["last_refill_date"], a["volume_after_refill_ml"], a["daily_dose_mcg"], a["bolus_allowance_mcg"]) == (
        "2026-02-10",
        "19.50",
        "350.00",
        "25.00",
    )
    assert a["next_appointment"] == "2026-04-20 10:30"  # the next one, not the completed or cancelled
    assert a["reminders_opt_in"] == "yes" and a["compounded"] == "no"
    assert rows[2]["last_refill_date"] == "" and rows[2]["eri_date"] == "2027-01-01"
    assert rows[3]["compounded"] == "yes" and rows[3]["concentration_mcg_ml"] == "1500.00"
    assert rows[4]["next_appointment"] == "2026-03-01 15:00"
    assert rows[5]["serial_number"] == "SN-F"


def test_export_is_recorded_in_the_audit_trail(seeded, client, staff):
    client.force_login(staff)

    client.get(reverse("export_clinic"), {"format": "xlsx"})

    entry = LogEntry.objects.get(action=LogEntry.Action.ACCESS)
    assert entry.actor == staff
    assert entry.additional_data["clinic_id"] == seeded.pk
    assert entry.changes_dict["export"] == ["clinic caseload (import format)", "xlsx, 6 rows"]


def test_workbook_keeps_mrns_as_text_and_dates_as_dates(seeded, client, staff):
    client.force_login(staff)
    PatientFactory(clinic=seeded, mrn="00042")

    response = client.get(reverse("export_clinic"), {"format": "xlsx"})

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(COLUMNS)
    by_mrn = {row[0]: row for row in rows[1:]}
    assert "00042" not in by_mrn  # no pump, so not a row
    implant = by_mrn["A100"][COLUMNS.index("implant_date")]
    assert implant.date() == date(2024, 1, 10)


def test_export_holds_only_this_clinics_pumps(seeded, other_clinic, client, staff):
    PumpFactory(patient=PatientFactory(clinic=other_clinic, mrn="Z999"), serial_number="SN-Z")
    client.force_login(staff)

    content = client.get(reverse("export_clinic")).content.decode("utf-8-sig")

    assert "Z999" not in content and "SN-Z" not in content


# Issue 13, defect 1: text a spreadsheet would run as a formula (OWASP CSV injection).
EVIL = {
    "mrn": "=1+1",
    "first_name": '=HYPERLINK("http://evil.example","x")',
    "last_name": "-Minus",
    "phone": "+44 20 7946 0000",
    "email": "=1+2@example.invalid",
}
EVIL_SERIAL = "@SN-EVIL"


@pytest.fixture
def evil(clinic):
    patient = PatientFactory(clinic=clinic, **EVIL)
    pump = PumpFactory(patient=patient, serial_number=EVIL_SERIAL, implant_date=date(2024, 1, 10))
    RefillFactory(pump=pump, performed_on=date(2025, 10, 1), is_initial_fill=True)  # overdue on 1 Mar
    # Already starting with a quote: quoted once more, so that the import gives it back as it was.
    PumpFactory(patient=PatientFactory(clinic=clinic, mrn="Q1", last_name="'=quoted"), serial_number="SN-Q")
    return patient


def test_csv_export_quotes_text_a_spreadsheet_would_run(evil, client, staff):
    client.force_login(staff)

    content = client.get(reverse("export_clinic"), {"format": "csv"}).content.decode("utf-8-sig")

    rows = {row["serial_number"]: row for row in csv.DictReader(io.StringIO(content))}
    row = rows["'" + EVIL_SERIAL]
    for column, value in EVIL.items():
        assert row[column] == "'" + value
    assert rows["SN-Q"]["last_name"] == "''=quoted"
    # Numbers and dates are not text: untouched.
    assert (row["volume_after_refill_ml"], row["implant_date"]) == ("20.00", "2024-01-10")


def test_xlsx_export_writes_such_text_as_text_not_formulas(evil, client, staff):
    client.force_login(staff)

    response = client.get(reverse("export_clinic"), {"format": "xlsx"})

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("serial_number")].value == "'" + EVIL_SERIAL)
    for column, value in EVIL.items():
        cell = row[header.index(column)]
        assert cell.data_type == "s", column
        assert cell.value == "'" + value
    assert row[header.index("volume_after_refill_ml")].data_type == "n"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_round_trip_through_the_import_restores_the_original_text(evil, client, staff, fmt):
    client.force_login(staff)
    response = client.get(reverse("export_clinic"), {"format": fmt})
    empty = ClinicFactory(slug="new-home", name="New Home", time_zone=evil.clinic.time_zone)

    result = run_import(empty, response.content, filename=f"export.{fmt}")

    assert result.applied, [str(p) for p in result.problems]
    copy = Patient.objects.get(clinic=empty, mrn=EVIL["mrn"])
    for column, value in EVIL.items():
        assert getattr(copy, column) == value
    assert copy.pumps.get().serial_number == EVIL_SERIAL
    assert Patient.objects.get(clinic=empty, mrn="Q1").last_name == "'=quoted"


def test_list_exports_use_the_same_rule_and_keep_numbers_as_numbers(evil, client, staff):
    """The caseload list's XLSX (django-tables2 through clinic.spreadsheet_cells): text quoted
    and written as text, a negative number of days to due still a number."""
    client.force_login(staff)

    response = client.get(reverse("caseload"), {"_export": "xlsx"})

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("MRN")].value == "'=1+1")
    assert row[header.index("MRN")].data_type == "s"
    assert row[header.index("Patient")].value == "'-Minus, " + EVIL["first_name"]
    days = row[header.index("Days to due")]
    assert days.data_type == "n" and days.value < 0
