"""The overdue worklist: who, how late, how to reach them, and a one-click booking."""

import csv
import io
from datetime import date, timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.urls import NoReverseMatch, path, reverse

from clinic.urls import urlpatterns as project_urlpatterns
from dashboard.views import first_working_day
from refills import schedule
from tests.dashboard_data import FROZEN, TODAY, book_refill, pump_with_status

pytestmark = pytest.mark.django_db

URL = "/overdue/"


def _stand_in_booking_form(request, pk):  # pragma: no cover - only reversed, never called
    raise AssertionError


# This module doubles as a URLconf with a booking form, should the real one not exist yet.
try:
    reverse("appointment_create", kwargs={"pk": 1})
    urlpatterns = project_urlpatterns
except NoReverseMatch:
    urlpatterns = [
        *project_urlpatterns,
        path("patients/<int:pk>/appointments/new/", _stand_in_booking_form, name="appointment_create"),
    ]


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture
def worklist(clinic):
    return {
        "ok": pump_with_status(clinic, schedule.OK, mrn="OK1"),
        "due_soon": pump_with_status(clinic, schedule.DUE_SOON, mrn="SOON1"),
        "no_fill": pump_with_status(clinic, schedule.NO_FILL, mrn="NOFILL1"),
        "overdue": pump_with_status(clinic, schedule.OVERDUE, mrn="LATE1", phone="0100 555 0101"),
        "overdue_risk": pump_with_status(clinic, schedule.OVERDUE, mrn="LATE2", sci_t6_or_above=True),
        "alarming": pump_with_status(clinic, schedule.ALARMING, mrn="ALARM1"),
        "empty": pump_with_status(clinic, schedule.EMPTY, mrn="EMPTY1"),
    }


def rows(response):
    return [row.record for row in response.context["table"].paginated_rows]


def test_lists_empty_alarming_and_overdue_worst_first(client, staff, worklist):
    client.force_login(staff)
    assert [pump.patient.mrn for pump in rows(client.get(URL))] == ["EMPTY1", "ALARM1", "LATE2", "LATE1"]


def test_days_overdue_is_a_positive_count_of_days_past_refill_due(client, staff, worklist):
    client.force_login(staff)
    days = {pump.patient.mrn: pump.days_overdue for pump in rows(client.get(URL))}
    # Refill due is refill + 83 days; the pumps were refilled 105, 95 and 87 days ago.
    assert days == {"EMPTY1": 22, "ALARM1": 12, "LATE1": 4, "LATE2": 4}
    assert (TODAY - worklist["overdue"].refill_due).days == 4


def test_sort_by_days_overdue(client, staff, worklist):
    client.force_login(staff)
    assert [pump.days_overdue for pump in rows(client.get(URL, {"sort": "days_overdue"}))] == [4, 4, 12, 22]


def test_shows_phone_risk_and_booking_state(client, staff, worklist):
    book_refill(worklist["overdue"], TODAY + timedelta(days=2))
    client.force_login(staff)
    html = client.get(URL).content.decode()
    assert '<a href="tel:0100 555 0101">0100 555 0101</a>' in html
    assert html.count('<span class="badge badge-risk">High risk</span>') == 1
    assert '<span class="badge badge-late">Booked late</span>' in html
    assert html.count('<span class="badge badge-unbooked">Not booked</span>') == 3


@pytest.mark.urls(__name__)
def test_book_refill_opens_the_booking_form_for_the_patient_on_today_if_a_working_day(client, staff, worklist):
    patient = worklist["empty"].patient
    book = reverse("appointment_create", kwargs={"pk": patient.pk})
    with time_machine.travel("2026-04-01 07:00:00Z", tick=False):  # 08:00 in London, before 09:00
        client.force_login(staff)
        html = client.get(URL).content.decode()
    assert f'href="{book}?kind=refill&amp;date=2026-04-01"' in html  # Wednesday: today
    assert html.count(">Book refill<") == 4
    client.force_login(staff)
    html = client.get(URL).content.decode()  # 11:00: today's 09:00 has passed, so Thursday
    assert f'href="{book}?kind=refill&amp;date=2026-04-02"' in html


@pytest.mark.urls(__name__)
def test_on_a_saturday_book_refill_proposes_monday(client, staff, worklist):
    with time_machine.travel("2026-04-04 10:00:00Z", tick=False):
        client.force_login(staff)
        html = client.get(URL).content.decode()
    assert "date=2026-04-06" in html and "date=2026-04-04" not in html


@pytest.mark.parametrize(
    ("today", "working_days", "expected"),
    [
        (date(2026, 4, 1), [0, 1, 2, 3, 4], date(2026, 4, 1)),  # Wednesday
        (date(2026, 4, 3), [0, 1, 2, 3, 4], date(2026, 4, 3)),  # Friday
        (date(2026, 4, 4), [0, 1, 2, 3, 4], date(2026, 4, 6)),  # Saturday -> Monday
        (date(2026, 4, 5), [0, 1, 2, 3, 4], date(2026, 4, 6)),  # Sunday -> Monday
        (date(2026, 4, 4), [0, 1, 2, 3, 4, 5], date(2026, 4, 4)),  # a clinic open on Saturdays
        (date(2026, 4, 2), [0, 2], date(2026, 4, 6)),  # Thursday, open Mon and Wed only
        (date(2026, 4, 4), [], date(2026, 4, 6)),  # none set: Monday to Friday
    ],
)
def test_first_working_day(today, working_days, expected):
    assert first_working_day(today, working_days) == expected


def test_csv_export_is_the_worklist_and_is_logged(client, staff, clinic, worklist):
    client.force_login(staff)
    response = client.get(URL, {"_export": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    exported = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["MRN"] for row in exported] == ["EMPTY1", "ALARM1", "LATE2", "LATE1"]
    assert exported[3]["Days overdue"] == "4" and exported[3]["Phone"] == "0100 555 0101"
    assert "Book" not in exported[0]  # the button column is not data
    entry = LogEntry.objects.get(action=LogEntry.Action.ACCESS)
    assert entry.actor == staff and entry.changes["export"] == ["overdue", "csv, 4 rows"]
    assert entry.additional_data["clinic_id"] == clinic.pk


def test_xlsx_export(client, staff, worklist):
    client.force_login(staff)
    response = client.get(URL, {"_export": "xlsx"})
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert LogEntry.objects.get(action=LogEntry.Action.ACCESS).changes["export"] == ["overdue", "xlsx, 4 rows"]


def test_only_this_clinics_pumps(client, staff, outsider, other_clinic, worklist):
    pump_with_status(other_clinic, schedule.EMPTY, mrn="SOUTH1")
    client.force_login(staff)
    assert "SOUTH1" not in [pump.patient.mrn for pump in rows(client.get(URL))]
    client.force_login(outsider)
    assert [pump.patient.mrn for pump in rows(client.get(URL))] == ["SOUTH1"]


def test_worklist_reads_in_the_clinics_words(client, staff, worklist):
    """SPEC 8: dates in words, no model codes, the next appointment under the booking."""
    book_refill(worklist["overdue"], TODAY + timedelta(days=2))
    client.force_login(staff)
    html = client.get(URL).content.decode()
    assert ">2026-" not in html and "synchromed-ii-20" not in html
    # The pump column is in the export only (the worklist fits a 1366 px screen).
    rows = list(csv.DictReader(io.StringIO(client.get(URL, {"_export": "csv"}).content.decode())))
    assert all(row["Pump"].startswith("synchromed-ii-20 ") for row in rows)
    assert (
        '<span class="badge badge-late">Booked late</span> <span class="next-visit">Fri 3 Apr 2026 09:30</span>' in html
    )
    assert "proposes Thu 2 Apr 2026, the first free refill slot from now" in html


def test_the_overdue_lists_proposed_date_is_the_booking_forms(client, staff, manager, clinic):
    """One function: "Book refill proposes <date>" equals the form's proposal; today's session
    that has begun (11:00 in London, session at 09:00 on Wednesdays) is not proposed. (The
    manager runs the clinic sessions: without anyone who can refill they are not held.)"""
    from datetime import time

    from scheduling.models import RefillSession

    pump = pump_with_status(clinic, schedule.OVERDUE, mrn="LATE9")
    RefillSession.objects.create(clinic=clinic, member=None, weekday=2, start_time=time(9), slots=4)
    RefillSession.objects.create(clinic=clinic, member=None, weekday=4, start_time=time(9), slots=4)
    client.force_login(staff)
    listed = client.get(URL).context["booking_date"]
    url = reverse("appointment_create", kwargs={"pk": pump.patient_id}) + "?kind=refill"
    form = client.get(url).context["form"]
    assert listed == form.initial["local_date"] == date(2026, 4, 3)
