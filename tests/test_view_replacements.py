"""The replacement pipeline: window, urgent first, estimated dates, SynchroMed stop date."""

import csv
import io
from datetime import date, time, timedelta

import pytest
import time_machine
from auditlog.models import LogEntry

from refills import schedule
from tests.dashboard_data import FROZEN, TODAY, pump_with_status
from tests.factories import AppointmentFactory, pump_model

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
    # Dates on pages read "Sun 31 May 2026" (SPEC 8), ISO for machines in datetime.
    assert cells["EST-60"] == '<time datetime="2026-05-31">Sun 31 May 2026</time> <span class="tag">estimated</span>'
    assert cells["ERI-SOON"] == '<time datetime="2026-05-01">Fri 1 May 2026</time>'  # a recorded ERI
    assert '<span class="tag">estimated</span>' in response.content.decode()


def test_synchromed_stop_date_once_eri_is_reached(client, staff, pipeline):
    client.force_login(staff)
    table = client.get(URL).context["table"]
    stops = {row.record.patient.mrn: row.get_cell_value("stop_date") for row in table.paginated_rows}
    assert stops["ERI-PAST"] == date(2026, 6, 20)  # 2026-03-22 + 90 days
    assert stops["ERI-SOON"] is None  # ERI not reached yet
    assert stops["PROM-PAST"] is None  # Prometra does not stop after ERI
    assert stops["EST-60"] is None
    assert stops["ERI-PAST"] == pipeline["eri_reached"].stop_date_on(TODAY)


def test_a_stopped_pump_says_so(client, staff, clinic):
    pump(clinic, "ERI-OLD", eri_date=days(-100))
    client.force_login(staff)
    html = client.get(URL).content.decode()
    assert '<time datetime="2026-03-22">Sun 22 Mar 2026</time> <strong>stopped</strong>' in html


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


def book(pump, on, kind="replacement", at=time(8, 30), status="scheduled"):
    return AppointmentFactory(patient=pump.patient, pump=pump, kind=kind, local_date=on, local_time=at, status=status)


def test_booked_column_shows_the_scheduled_replacement_appointment(client, staff, pipeline):
    """Issue 12 item 14: the list says which replacements are booked, and when."""
    book(pipeline["eri_soon"], days(20))
    book(pipeline["eri_soon"], days(40))  # a later one: the earliest is shown
    book(pipeline["eri_reached"], days(5), kind="refill")  # a refill is not a replacement
    book(pipeline["estimated_urgent"], days(-3))  # past and never marked: not a booking
    book(pipeline["estimated_planned"], days(9), status="cancelled")
    client.force_login(staff)
    response = client.get(URL)
    table = response.context["table"]
    booked = {row.record.patient.mrn: row.get_cell_value("booked") for row in table.paginated_rows}
    assert booked == {"ERI-PAST": "", "PROM-PAST": "", "ERI-SOON": "2026-04-21 08:30", "EST-60": "", "EST-150": ""}
    html = response.content.decode()
    assert (
        '<span class="badge badge-booked">Booked</span> <span class="next-visit">Tue 21 Apr 2026 08:30</span>' in html
    )
    assert html.count('<span class="badge badge-unbooked">Not booked</span>') == 4
    # In the export too, as an ISO date and time.
    rows = list(csv.DictReader(io.StringIO(client.get(URL, {"_export": "csv"}).content.decode())))
    assert {row["MRN"]: row["Booked"] for row in rows}["ERI-SOON"] == "2026-04-21 08:30"


def test_booked_column_is_read_in_the_same_query(client, staff, pipeline):
    """One subquery in the list's SQL: more booked rows, no more queries."""
    client.force_login(staff)
    client.get(URL)  # warm the session and cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as unbooked:
        client.get(URL)
    for key in ("eri_reached", "prometra", "eri_soon", "estimated_urgent"):
        book(pipeline[key], days(10))
    with CaptureQueriesContext(connection) as booked:
        response = client.get(URL)
    assert len(booked) == len(unbooked)
    assert response.content.decode().count('<span class="badge badge-booked">Booked</span>') == 4


def test_sort_by_booked_puts_unbooked_last(client, staff, pipeline):
    book(pipeline["estimated_planned"], days(3))
    book(pipeline["eri_soon"], days(20))
    client.force_login(staff)
    assert listed(client.get(URL, {"sort": "booked"}))[:2] == ["EST-150", "ERI-SOON"]
    assert listed(client.get(URL, {"sort": "-booked"}))[:2] == ["ERI-SOON", "EST-150"]


def test_pages_show_dates_in_words_and_models_by_name(client, staff, pipeline):
    """SPEC 8: "Sun 22 Mar 2026" and "SynchroMed II 20 mL" on the page; codes and ISO in files."""
    client.force_login(staff)
    html = client.get(URL).content.decode()
    assert "SynchroMed II 20 mL" in html and "synchromed-ii-20" not in html
    assert ">2026-" not in html and "Sun 22 Mar 2026" in html
    rows = list(csv.DictReader(io.StringIO(client.get(URL, {"_export": "csv"}).content.decode())))
    assert rows[0]["Pump"].startswith("synchromed-ii-20 ")
