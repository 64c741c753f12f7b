"""manage.py caseload_report: active pumps of active patients, by refill due then MRN."""

import csv
import json
from datetime import date, time
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from patients.models import Patient, Pump
from tests.factories import AppointmentFactory, PatientFactory, PumpFactory, RefillFactory, pump_model

CONTRACT = [
    "mrn",
    "serial_number",
    "last_refill_date",
    "alarm_date",
    "empty_date",
    "refill_due",
    "status",
    "booked",
    "next_appointment",
    "replacement_due",
    "replacement_estimated",
]


def filled_pump(clinic, mrn, serial, refilled_on, volume_after_ml=Decimal("20"), **pump_fields):
    pump = PumpFactory(patient=PatientFactory(clinic=clinic, mrn=mrn), serial_number=serial, **pump_fields)
    RefillFactory(pump=pump, performed_on=refilled_on, is_initial_fill=True, volume_after_ml=volume_after_ml)
    return pump


@pytest.fixture
def caseload(clinic, other_clinic):
    """Five pumps to report and three that must not appear."""
    # 20 mL at 0.2 mL/day from 1 Jan: alarm 1 Apr, empty 11 Apr, due 25 Mar, due soon from 11 Mar.
    b = filled_pump(clinic, "B2", "SN-B", date(2026, 1, 1))
    a = filled_pump(clinic, "A1", "SN-A", date(2026, 1, 1), eri_date=date(2027, 5, 1))
    # From 1 Dec: alarm 1 Mar, due 22 Feb.
    filled_pump(clinic, "C3", "SN-C", date(2025, 12, 1))
    # No fill recorded: no refill due, reported first.
    PumpFactory(patient=PatientFactory(clinic=clinic, mrn="D4"), serial_number="SN-D")
    # Refilled 1 Feb on a 40 mL pump at 0.2 mL/day: alarm after 190 days, so due at the 180-day maximum.
    forty = pump_model("synchromed-ii-40")
    filled_pump(clinic, "E5", "SN-E", date(2026, 2, 1), Decimal("40"), model=forty, reservoir_ml=Decimal("40"))

    AppointmentFactory(patient=a.patient, pump=a, local_date=date(2026, 3, 20), local_time=time(10, 30))
    AppointmentFactory(patient=b.patient, pump=b, local_date=date(2026, 3, 30), local_time=time(9, 0))

    inactive = filled_pump(clinic, "X1", "SN-X1", date(2026, 1, 1))
    Patient.objects.filter(pk=inactive.patient_id).update(status=Patient.Status.INACTIVE)
    explanted = filled_pump(clinic, "X2", "SN-X2", date(2026, 1, 1))
    Pump.objects.filter(pk=explanted.pk).update(status=Pump.Status.EXPLANTED, explant_date=date(2026, 2, 1))
    filled_pump(other_clinic, "X3", "SN-X3", date(2026, 1, 1))


def report(*args, clinic="north"):
    out = StringIO()
    call_command("caseload_report", "--clinic", clinic, *args, stdout=out)
    return out.getvalue()


@time_machine.travel("2026-03-01 10:00:00+00:00", tick=False)
def test_csv_columns_order_and_values(caseload):
    rows = list(csv.DictReader(StringIO(report())))

    assert list(rows[0].keys())[: len(CONTRACT)] == CONTRACT
    # No-fill first, then by refill due, then MRN; inactive, explanted and other clinics left out.
    assert [row["mrn"] for row in rows] == ["D4", "C3", "A1", "B2", "E5"]
    d4, c3, a1, b2, e5 = rows
    assert d4["status"] == "no_fill" and d4["refill_due"] == "" and d4["last_refill_date"] == ""
    assert c3["status"] == "alarming" and c3["refill_due"] == "2026-02-22" and c3["booked"] == "unbooked"
    assert a1 == {
        **a1,
        "serial_number": "SN-A",
        "last_refill_date": "2026-01-01",
        "alarm_date": "2026-04-01",
        "empty_date": "2026-04-11",
        "refill_due": "2026-03-25",
        "status": "ok",
        "booked": "booked",
        "next_appointment": "2026-03-20 10:30",
        "replacement_due": "2027-05-01",
        "replacement_estimated": "false",
        "pump_model": "synchromed-ii-20",
    }
    assert b2["booked"] == "late" and b2["next_appointment"] == "2026-03-30 09:00"
    assert b2["replacement_due"] == "2031-01-10" and b2["replacement_estimated"] == "true"
    assert e5["refill_due"] == "2026-07-31"  # 1 Feb + 180 days, before alarm - buffer


@time_machine.travel("2026-03-01 10:00:00+00:00", tick=False)
def test_json_is_a_list_of_objects_with_the_contract_keys(caseload):
    rows = json.loads(report("--format", "json"))

    assert [row["mrn"] for row in rows] == ["D4", "C3", "A1", "B2", "E5"]
    for row in rows:
        assert list(row.keys())[: len(CONTRACT)] == CONTRACT
        assert row["booked"] in ("booked", "late", "unbooked")
        assert isinstance(row["replacement_estimated"], bool)
    a1 = rows[2]
    assert a1["next_appointment"] == "2026-03-20 10:30" and a1["alarm_date"] == "2026-04-01"
    assert a1["replacement_estimated"] is False and a1["days_to_due"] == 24
    assert rows[0]["next_appointment"] is None and rows[0]["refill_due"] is None


@time_machine.travel("2026-03-01 10:00:00+00:00", tick=False)
def test_as_of_changes_statuses(caseload):
    def statuses(*args):
        return {row["mrn"]: row["status"] for row in json.loads(report("--format", "json", *args))}

    assert statuses()["A1"] == "ok"
    assert statuses("--as-of", "2026-03-11")["A1"] == "due_soon"
    assert statuses("--as-of", "2026-03-26")["A1"] == "overdue"
    assert statuses("--as-of", "2026-04-01")["A1"] == "alarming"
    assert statuses("--as-of", "2026-04-11")["A1"] == "empty"
    assert statuses("--as-of", "2026-02-07")["C3"] == "ok"
    assert statuses("--as-of", "2026-02-08")["C3"] == "due_soon"


def test_as_of_defaults_to_the_clinics_today(clinic, caseload):
    clinic.time_zone = "Pacific/Auckland"
    clinic.save()
    # 12:00 UTC on 10 March is already 11 March in Auckland: A1 is due soon from 11 March.
    with time_machine.travel("2026-03-10 12:00:00+00:00", tick=False):
        rows = json.loads(report("--format", "json"))
    assert {row["mrn"]: row["status"] for row in rows}["A1"] == "due_soon"
    assert rows[2]["days_to_due"] == 14


def test_empty_clinic_prints_header_or_empty_list(clinic):
    assert report().strip() == ",".join([*CONTRACT, "pump_model", "high_risk", "days_to_due"])
    assert json.loads(report("--format", "json")) == []


@pytest.mark.parametrize("as_of", ["2026-13-01", "01/03/2026", "yesterday"])
def test_bad_date_is_a_clear_error(clinic, as_of):
    with pytest.raises(CommandError, match="--as-of"):
        report("--as-of", as_of)


def test_unknown_clinic_is_a_clear_error(db):
    with pytest.raises(CommandError, match="no clinic with slug 'nowhere'"):
        report(clinic="nowhere")


def test_bad_format_is_refused(clinic):
    with pytest.raises(CommandError, match="invalid choice"):
        report("--format", "xml")


def test_report_runs_a_fixed_number_of_queries(caseload, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        rows = json.loads(report("--format", "json", "--as-of", "2026-03-01"))
    assert len(rows) == 5


def test_csv_quotes_text_a_spreadsheet_would_run_and_json_stays_raw(clinic):
    """Issue 13, defect 1: the report's CSV is opened in spreadsheets too."""
    filled_pump(clinic, "=HYPERLINK(1)", "+SN-1", date(2025, 11, 1))  # overdue on 1 Mar: days to due < 0
    out = StringIO()

    call_command("caseload_report", "--clinic", clinic.slug, "--as-of", "2026-03-01", stdout=out)

    rows = list(csv.DictReader(StringIO(out.getvalue())))
    assert (rows[0]["mrn"], rows[0]["serial_number"]) == ("'=HYPERLINK(1)", "'+SN-1")
    assert int(rows[0]["days_to_due"]) < 0  # a negative number stays a number
    out = StringIO()
    call_command("caseload_report", "--clinic", clinic.slug, "--as-of", "2026-03-01", "--format", "json", stdout=out)
    assert json.loads(out.getvalue())[0]["mrn"] == "=HYPERLINK(1)"
