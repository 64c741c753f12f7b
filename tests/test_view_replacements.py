"""The replacement pipeline: window, urgent first, estimated dates, SynchroMed stop date."""

import csv
import io
from datetime import date, timedelta

import pytest
import time_machine
from auditlog.models import LogEntry

from refills import schedule
from tests.dashboard_data import FROZEN, TODAY, pump_with_status
from tests.factories import pump_model

pytestmark = pytest.mark.django_db

URL = "/replacements/"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


def pump(clinic, mrn, model="synchromed-ii-20", **pump_fields):
    return pump_with_status(clinic, schedule.OK, mrn=mrn, pump_fields={"model": pump_model(model), **pump_fields})


def days(n):
    return TODAY + timedelta(days=n)


@pytest.fixture
def pipeline(clinic):
    return {
        # ERI reached 10 days ago: replacement past due, and the pump stops at ERI + 90.
        "eri_reached": pump(clinic, "ERI-PAST", eri_date=days(-10)),
        # ERI recorded but not reached: urgent, no stop date yet.
        "eri_soon": pump(clinic, "ERI-SOON", eri_date=days(30)),
        # Prometra has no stop-after-ERI rule.
        "prometra": pump(clinic, "PROM-PAST", model="prometra-ii-20", eri_date=days(-5)),
        # Estimated from implant date + 84 months: 2019-05-31 + 84 months = 2026-05-31 (60 days).
        "estimated_urgent": pump(clinic, "EST-60", implant_date=date(2019, 5, 31)),
        # 2026-08-29: 150 days, inside the default 180-day window but not urgent.
        "estimated_planned": pump(clinic, "EST-150", implant_date=date(2019, 8, 29)),
        "outside": pump(clinic, "ERI-200", eri_date=days(200)),
    }


def listed(response):
    return [row.record.patient.mrn for row in response.context["table"].paginated_rows]


def test_window_and_order_urgent_first_then_by_date(client, staff, pipeline):
    client.force_login(staff)
    assert listed(client.get(URL)) == ["ERI-PAST", "PROM-PAST", "ERI-SOON", "EST-60", "EST-150"]


def test_window_follows_the_clinic_setting(client, staff, clinic, pipeline):
    clinic.replacement_window_days = 120
    clinic.save()
    client.force_login(staff)
    assert "EST-150" not in listed(client.get(URL))


def test_urgent_filter(client, staff, pipeline):
    client.force_login(staff)
    assert listed(client.get(URL, {"urgent": "1"})) == ["ERI-PAST", "PROM-PAST", "ERI-SOON", "EST-60"]


def test_estimated_dates_are_marked(client, staff, pipeline):
    client.force_login(staff)
    response = client.get(URL)
    cells = {
        row.record.patient.mrn: row.get_cell("replacement_due") for row in response.context["table"].paginated_rows
    }
    assert cells["EST-60"] == '<time datetime="2026-05-31">2026-05-31</time> <span class="tag">estimated</span>'
    assert cells["ERI-SOON"] == '<time datetime="2026-05-01">2026-05-01</time>'  # a recorded ERI
    assert '<span class="tag">estimated</span>' in response.content.decode()


def test_synchromed_stop_date_once_eri_is_reached(client, staff, pipeline):
    client.force_login(staff)
    table = client.get(URL).context["table"]
    stops = {row.record.patient.mrn: row.get_cell_value("stop_date") for row in table.paginated_rows}
    assert stops["ERI-PAST"] == date(2026, 6, 20)  # 2026-03-22 + 90 days
    assert stops["ERI-SOON"] is None  # ERI not reached yet
    assert stops["PROM-PAST"] is None  # Prometra does not stop after ERI
    assert stops["EST-60"] is None
    assert stops["ERI-PAST"] == schedule.synchromed_stop_date(pipeline["eri_reached"].eri_date, TODAY)


def test_a_stopped_pump_says_so(client, staff, clinic):
    pump(clinic, "ERI-OLD", eri_date=days(-100))
    client.force_login(staff)
    html = client.get(URL).content.decode()
    assert '<time datetime="2026-03-22">2026-03-22</time> <strong>stopped</strong>' in html


def test_urgency_is_written_out(client, staff, pipeline):
    client.force_login(staff)
    table = client.get(URL).context["table"]
    urgency = {row.record.patient.mrn: row.get_cell_value("urgency") for row in table.paginated_rows}
    assert urgency == {
        "ERI-PAST": "Past due",
        "PROM-PAST": "Past due",
        "ERI-SOON": "Urgent",
        "EST-60": "Urgent",
        "EST-150": "Planned",
    }


def test_explanted_pumps_are_not_in_the_pipeline(client, staff, clinic):
    gone = pump(clinic, "GONE", eri_date=days(-10))
    gone.status = "explanted"
    gone.explant_date = TODAY
    gone.save()
    client.force_login(staff)
    assert listed(client.get(URL)) == []


def test_csv_export_and_log(client, staff, pipeline):
    client.force_login(staff)
    response = client.get(URL, {"urgent": "1", "_export": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["MRN"] for row in rows] == ["ERI-PAST", "PROM-PAST", "ERI-SOON", "EST-60"]
    assert rows[0]["Replacement due"] == "2026-03-22" and rows[0]["Estimated"] == ""
    assert rows[0]["Pump stops"] == "2026-06-20" and rows[0]["Days left"] == "-10"
    assert rows[3]["Estimated"] == "estimated"
    entry = LogEntry.objects.get(action=LogEntry.Action.ACCESS)
    assert entry.actor == staff and entry.changes["export"] == ["replacements", "csv, 4 rows"]


def test_only_this_clinics_pumps(client, staff, outsider, other_clinic, pipeline):
    pump(other_clinic, "SOUTH-ERI", eri_date=days(-1))
    client.force_login(staff)
    assert "SOUTH-ERI" not in listed(client.get(URL))
    client.force_login(outsider)
    assert listed(client.get(URL)) == ["SOUTH-ERI"]
