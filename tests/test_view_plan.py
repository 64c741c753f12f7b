"""The refill plan page: the command's numbers as a chart and a table, crunch weeks named,
booked refills in a member's absence listed with a link to move them; access; query count."""

import json
from datetime import date, time, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.models import Membership
from scheduling.models import Absence, RefillSession
from scheduling.plan import plan_weeks
from tests.dashboard_data import FROZEN, TODAY, book_refill
from tests.factories import PatientFactory, PumpFactory, RefillFactory

pytestmark = pytest.mark.django_db
MONDAY = TODAY - timedelta(days=TODAY.weekday())  # Mon 30 Mar 2026


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


def pump_due(clinic, due: date, **patient_fields):
    pump = PumpFactory(patient=PatientFactory(clinic=clinic, **patient_fields))
    RefillFactory(pump=pump, performed_on=due - timedelta(days=83), is_initial_fill=True)
    pump.refresh_from_db()
    return pump


@pytest.fixture
def week_with_a_crunch(clinic, manager):
    """A Tuesday session of 2 slots; five pumps due next week (a crunch), one this week."""
    member = Membership.objects.get(clinic=clinic, user=manager)
    RefillSession.objects.create(
        clinic=clinic, member=member, weekday=1, start_time=time(9, 0), slots=2, slot_minutes=30
    )
    for n in range(5):
        pump_due(clinic, MONDAY + timedelta(days=7 + n % 3), mrn=f"NEXT{n}")
    this_week = pump_due(clinic, TODAY + timedelta(days=1), mrn="THIS")
    book_refill(this_week, TODAY)
    return member


def page(client, user, query=""):
    client.force_login(user)
    return client.get(reverse("plan") + query)


def test_every_role_sees_the_plan_and_anonymous_users_log_in(client, admin_user, manager, staff):
    for user in (admin_user, manager, staff):
        assert page(client, user).status_code == 200
    client.logout()
    response = client.get(reverse("plan"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_table_shows_the_commands_numbers_and_names_the_crunch(client, clinic, manager, week_with_a_crunch):
    response = page(client, manager)
    weeks = response.context["weeks"]
    out = StringIO()
    call_command("refill_plan", "--clinic", clinic.slug, "--as-of", TODAY.isoformat(), "--format", "json", stdout=out)
    assert [w.as_row() for w in weeks] == json.loads(out.getvalue())
    assert [w.as_row() for w in weeks] == [w.as_row() for w in plan_weeks(clinic, TODAY)]
    first, second = weeks[0], weeks[1]
    assert (first.week_start, first.due, first.booked, first.capacity, first.due_unbooked) == (MONDAY, 1, 1, 2, 0)
    assert (second.due, second.capacity, second.due_unbooked, second.crunch) == (5, 2, 5, True)
    html = response.content.decode()
    assert "1 crunch week:" in html
    # The table row of the crunch week says so in words, the chart marks it too.
    assert html.count('<span class="badge badge-crunch" title="5 due, capacity 2">Crunch</span>') == 1
    assert 'class="crunch-band"' in html and ">Crunch</text>" in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" id="plan-chart"' in html
    assert "Mon 6 Apr 2026" in html  # the crunch week's Monday, in the page's date format


def test_weeks_choice_and_a_bad_value(client, manager, week_with_a_crunch):
    assert len(page(client, manager, "?weeks=26").context["weeks"]) == 26
    response = page(client, manager, "?weeks=1000")
    assert len(response.context["weeks"]) == 12
    assert "Weeks: choose one of 4, 8, 12, 26, 52. Showing 12 weeks." in response.content.decode()


def test_without_sessions_the_page_says_so(client, clinic, admin_user, staff):
    pump_due(clinic, TODAY + timedelta(days=2))
    html = page(client, staff).content.decode()
    assert "No refill sessions give capacity in these weeks: a clinic admin can add" in html
    assert "1 crunch week:" in html  # one due, no capacity


def test_booked_refills_in_an_absence_are_listed_with_a_move_link(client, clinic, manager, staff, week_with_a_crunch):
    away = pump_due(clinic, TODAY + timedelta(days=20), mrn="AWAY1", last_name="Absentia")
    present = pump_due(clinic, TODAY + timedelta(days=20), mrn="HERE1")
    unassigned = pump_due(clinic, TODAY + timedelta(days=20), mrn="NOBODY")
    day = TODAY + timedelta(days=13)  # Tue 14 Apr
    moved = book_refill(away, day)
    moved.assigned_to = manager
    moved.save()
    kept = book_refill(present, day)
    kept.assigned_to = staff
    kept.save()
    book_refill(unassigned, day)
    Absence.objects.create(clinic=clinic, member=week_with_a_crunch, first_day=day, last_day=day + timedelta(days=2))
    response = page(client, staff)
    conflicts = response.context["conflicts"]
    assert [c.appointment.pk for c in conflicts] == [moved.pk]
    html = response.content.decode()
    assert "AWAY1</a> Absentia" in html
    assert reverse("appointment_edit", args=[moved.pk]) in html
    assert "Tue 14 Apr 2026" in html
    # The manager's Tuesday session that week is gone from the capacity.
    weeks = {w.week_start: w.capacity for w in response.context["weeks"]}
    assert weeks[MONDAY + timedelta(weeks=2)] == 0 and weeks[MONDAY + timedelta(weeks=3)] == 2
    # "Move" proposes a new slot outside the absence; saving it unchanged says so, not "moved".
    move = reverse("appointment_edit", args=[moved.pk])
    assert f'{move}?propose=1"' in html
    form = client.get(f"{move}?propose=1").context["form"]
    assert not day <= form["local_date"].value() <= day + timedelta(days=2)
    unchanged = {"local_date": day.isoformat(), "local_time": f"{moved.local_time:%H:%M}", "assigned_to": manager.pk}
    response = client.post(move, unchanged, follow=True)
    text = response.content.decode()
    assert "Date, time and member unchanged" in text and "Appointment moved" not in text


def test_no_conflict_message(client, manager):
    assert "No booked refill from today to" in page(client, manager).content.decode()


def test_the_plan_is_linked_in_the_navigation(client, staff):
    assert f'href="{reverse("plan")}"' in page(client, staff).content.decode()


def add_caseload(clinic, manager, member, start, stop):
    for n in range(start, stop):
        pump = pump_due(clinic, TODAY + timedelta(days=n % 60 - 10), mrn=f"Q{n}")
        if n % 2:
            appointment = book_refill(pump, TODAY + timedelta(days=n % 50))
            appointment.assigned_to = manager
            appointment.save()
    Absence.objects.create(
        clinic=clinic,
        member=member,
        first_day=TODAY + timedelta(days=start % 30),
        last_day=TODAY + timedelta(days=start % 30 + 3),
    )


def queries(client, user) -> int:
    client.force_login(user)
    client.get(reverse("plan"))  # session refresh and caches out of the way
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("plan")).status_code == 200
    return len(captured)


def test_the_same_queries_for_a_small_and_a_larger_caseload(
    client, clinic, manager, week_with_a_crunch, django_assert_num_queries
):
    add_caseload(clinic, manager, week_with_a_crunch, 0, 4)
    small = queries(client, manager)
    add_caseload(clinic, manager, week_with_a_crunch, 4, 40)
    client.force_login(manager)
    with django_assert_num_queries(small):
        response = client.get(reverse("plan"))
    assert response.status_code == 200
    assert sum(w.due for w in response.context["weeks"]) == 46  # 40 here, 6 in the fixture
    assert len(response.context["conflicts"]) >= 4
    assert small <= 12


def test_cached_counts_follow_a_committed_booking(
    client, clinic, manager, settings, django_capture_on_commit_callbacks
):
    """With a real cache the page reuses its counts until the caseload changes, then counts again."""
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "plan"}}
    cache.clear()
    pump = pump_due(clinic, TODAY + timedelta(days=2))
    client.force_login(manager)
    first = client.get(reverse("plan")).context["weeks"][0]
    assert (first.due, first.booked, first.due_unbooked) == (1, 0, 1)
    with django_capture_on_commit_callbacks(execute=True):
        book_refill(pump, TODAY + timedelta(days=1))
    again = client.get(reverse("plan")).context["weeks"][0]
    assert (again.due, again.booked, again.due_unbooked) == (1, 1, 0)
    cache.clear()
