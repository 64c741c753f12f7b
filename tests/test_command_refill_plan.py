"""manage.py refill_plan: SPEC 9's weekly plan (due, booked, capacity, due_unbooked) on data built here.

The as-of date is Wednesday 18 Mar 2026, so the first week starts Monday 16 Mar. Every pump
is 20 mL at 0.2 mL/day with the default 7 buffer days: refilled on R, its alarm is R + 90
and its refill due R + 83.
"""

import csv
import json
from datetime import date, time, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from clinic.models import Membership
from patients.models import Patient, Pump
from refills import services
from scheduling import plan
from scheduling.models import Absence, RefillSession
from tests.factories import AppointmentFactory, PatientFactory, PumpFactory, RefillFactory

AS_OF = "2026-03-18"
WEEK0, WEEK1, WEEK2 = date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30)
CONTRACT = ["week_start", "due", "booked", "capacity", "due_unbooked"]


def pump_due(clinic, mrn, due: date):
    """A followed pump whose refill falls due on ``due``."""
    pump = PumpFactory(patient=PatientFactory(clinic=clinic, mrn=mrn))
    RefillFactory(pump=pump, performed_on=due - timedelta(days=83), is_initial_fill=True)
    pump.refresh_from_db()
    assert pump.refill_due == due
    return pump


def book(pump, day: date, at=time(10, 0), member=None):
    return AppointmentFactory(patient=pump.patient, pump=pump, local_date=day, local_time=at, assigned_to=member)


def run(*args) -> str:
    out = StringIO()
    call_command("refill_plan", *args, stdout=out)
    return out.getvalue()


def plan_json(*args) -> list[dict]:
    return json.loads(run(*args, "--format", "json"))


def by_week(rows) -> dict:
    return {row["week_start"]: row for row in rows}


@pytest.fixture
def caseload(clinic, other_clinic):
    # Overdue on the as-of date (due 22 Feb and 10 Mar): both count in the first week.
    pump_due(clinic, "OVER1", date(2026, 2, 22))
    overdue_booked = pump_due(clinic, "OVER2", date(2026, 3, 10))
    # Booked on 19 Mar, after its due: still due but unbooked; the appointment is booked in week 0.
    book(overdue_booked, date(2026, 3, 19))
    # Due Sunday 22 Mar (last day of week 0) and Monday 23 Mar (first day of week 1).
    pump_due(clinic, "SUN", date(2026, 3, 22))
    monday = pump_due(clinic, "MON", date(2026, 3, 23))
    # Booked before its due (Fri 20 Mar, in week 0): counted booked, not unbooked.
    book(monday, date(2026, 3, 20))
    # Due Wed 25 Mar, booked after due (Tue 31 Mar, week 2): unbooked in week 1, booked in week 2.
    late = pump_due(clinic, "LATE", date(2026, 3, 25))
    book(late, date(2026, 3, 31))
    # Due in week 2, booked exactly on its due date: booked.
    on_due = pump_due(clinic, "ONDUE", date(2026, 4, 1))
    book(on_due, date(2026, 4, 1))

    # Not followed, not counted (nor are their appointments' pumps in "due").
    inactive = pump_due(clinic, "GONE", date(2026, 3, 24))
    Patient.objects.filter(pk=inactive.patient_id).update(status=Patient.Status.INACTIVE)
    explanted = pump_due(clinic, "EXPL", date(2026, 3, 24))
    Pump.objects.filter(pk=explanted.pk).update(status=Pump.Status.EXPLANTED, explant_date=date(2026, 3, 1))
    PumpFactory(patient=PatientFactory(clinic=clinic, mrn="NOFILL"))  # no fill: no refill due
    # Another clinic's pump and appointment in week 1.
    theirs = pump_due(other_clinic, "THEIRS", date(2026, 3, 24))
    book(theirs, date(2026, 3, 24))
    # Beyond twelve weeks: not in the default plan.
    pump_due(clinic, "FAR", date(2026, 6, 15))
    # Cancelled and completed appointments are not booked.
    services.cancel_appointment(book(on_due, date(2026, 3, 26)))
    services.complete_appointment(book(monday, date(2026, 3, 17)))


@pytest.mark.django_db
def test_due_booked_and_unbooked_per_week_without_sessions(clinic, caseload):
    rows = plan_json("--clinic", "north", "--as-of", AS_OF)
    assert len(rows) == 12
    assert [row["week_start"] for row in rows] == [(WEEK0 + timedelta(weeks=n)).isoformat() for n in range(12)]
    weeks = by_week(rows)
    # Week 0: OVER1, OVER2 (overdue before as-of) and SUN; OVER2 is booked after its due.
    assert weeks["2026-03-16"] == {
        "week_start": "2026-03-16",
        "due": 3,
        "booked": 2,  # 19 Mar (OVER2) and 20 Mar (MON)
        "capacity": 0,  # no sessions
        "due_unbooked": 3,
    }
    # Week 1: MON (booked before due) and LATE (booked after due).
    assert weeks["2026-03-23"] == {"week_start": "2026-03-23", "due": 2, "booked": 0, "capacity": 0, "due_unbooked": 1}
    # Week 2: ONDUE booked on its due; the appointments of LATE (31 Mar) and ONDUE (1 Apr).
    assert weeks["2026-03-30"] == {"week_start": "2026-03-30", "due": 1, "booked": 2, "capacity": 0, "due_unbooked": 0}
    assert all(
        row == {"week_start": row["week_start"], "due": 0, "booked": 0, "capacity": 0, "due_unbooked": 0}
        for row in rows[3:]
    )
    # The far pump appears once the plan reaches its week (15 Jun is the Monday of week 13).
    longer = by_week(plan_json("--clinic", "north", "--as-of", AS_OF, "--weeks", "14"))
    assert longer["2026-06-15"]["due"] == 1


@pytest.mark.django_db
def test_as_of_on_a_sunday_and_a_monday(clinic, caseload):
    # As of Sunday 22 Mar the first week is still Monday 16 Mar's.
    assert plan_json("--clinic", "north", "--as-of", "2026-03-22", "--weeks", "1")[0]["week_start"] == "2026-03-16"
    # As of Monday 23 Mar the first week starts that day, and everything due before it counts there:
    # OVER1, OVER2, SUN (overdue now) and MON, LATE (this week).
    first = plan_json("--clinic", "north", "--as-of", "2026-03-23", "--weeks", "1")
    assert first == [{"week_start": "2026-03-23", "due": 5, "booked": 0, "capacity": 0, "due_unbooked": 4}]


@pytest.fixture
def sessions(clinic, manager, staff):
    member = Membership.objects.get(clinic=clinic, user=manager)
    # The clinic's Monday session (4 slots) and the manager's Wednesday one (3 slots).
    RefillSession.objects.create(clinic=clinic, weekday=0, start_time=time(9, 0), slots=4, slot_minutes=30)
    RefillSession.objects.create(
        clinic=clinic, member=member, weekday=2, start_time=time(13, 0), slots=3, slot_minutes=30
    )
    # A Saturday session: the clinic does not work Saturdays (default Monday to Friday), so no capacity.
    RefillSession.objects.create(clinic=clinic, weekday=5, start_time=time(9, 0), slots=6, slot_minutes=30)
    # An inactive session gives nothing.
    RefillSession.objects.create(
        clinic=clinic, weekday=1, start_time=time(9, 0), slots=5, slot_minutes=30, active=False
    )
    # The manager is away Wednesday 1 Apr (week 2): that week loses the Wednesday session.
    Absence.objects.create(clinic=clinic, member=member, first_day=date(2026, 4, 1), last_day=date(2026, 4, 1))
    # A staff absence covering a Monday changes nothing: the Monday session is the clinic's.
    staff_member = Membership.objects.get(clinic=clinic, user=staff)
    Absence.objects.create(clinic=clinic, member=staff_member, first_day=date(2026, 4, 6), last_day=date(2026, 4, 10))


@pytest.mark.django_db
def test_capacity_from_sessions_less_absences(clinic, caseload, sessions):
    rows = plan_json("--clinic", "north", "--as-of", AS_OF, "--weeks", "4")
    assert [row["capacity"] for row in rows] == [7, 7, 4, 7]
    # The same as the capacity module's own count (scheduling.capacity.ClinicWeek.week_capacity).
    days = plan.clinic_week(clinic, WEEK0, WEEK0 + timedelta(weeks=4))
    assert [days.week_capacity(WEEK0 + timedelta(weeks=n)) for n in range(4)] == [7, 7, 4, 7]
    # Due and booked do not depend on the sessions.
    assert [row["due"] for row in rows] == [3, 2, 1, 0]


@pytest.mark.django_db
def test_sessions_of_another_clinic_give_no_capacity(clinic, other_clinic, outsider, caseload):
    # ``outsider``: the other clinic's admin, who can run its clinic session.
    RefillSession.objects.create(clinic=other_clinic, weekday=0, start_time=time(9, 0), slots=4, slot_minutes=30)
    assert [row["capacity"] for row in plan_json("--clinic", "north", "--as-of", AS_OF, "--weeks", "2")] == [0, 0]
    assert [row["capacity"] for row in plan_json("--clinic", "south", "--as-of", AS_OF, "--weeks", "2")] == [4, 4]


@pytest.mark.django_db
def test_one_week(clinic, caseload):
    rows = plan_json("--clinic", "north", "--as-of", AS_OF, "--weeks", "1")
    assert rows == [{"week_start": "2026-03-16", "due": 3, "booked": 2, "capacity": 0, "due_unbooked": 3}]


@pytest.mark.django_db
def test_csv_has_the_header_and_the_same_numbers(clinic, caseload, sessions):
    text = run("--clinic", "north", "--as-of", AS_OF, "--weeks", "3")
    lines = text.splitlines()
    assert lines[0] == "week_start,due,booked,capacity,due_unbooked"
    assert lines[1:] == ["2026-03-16,3,2,7,3", "2026-03-23,2,0,7,1", "2026-03-30,1,2,4,0"]
    parsed = list(csv.DictReader(StringIO(text)))
    as_json = plan_json("--clinic", "north", "--as-of", AS_OF, "--weeks", "3")
    assert [{k: int(v) if k != "week_start" else v for k, v in row.items()} for row in parsed] == as_json


@pytest.mark.django_db
def test_json_is_a_list_of_objects_with_the_contract_keys(clinic, caseload):
    rows = plan_json("--clinic", "north", "--as-of", AS_OF)
    assert isinstance(rows, list)
    assert all(list(row) == CONTRACT for row in rows)
    assert all(isinstance(row[key], int) for row in rows for key in CONTRACT[1:])


@pytest.mark.django_db
def test_a_clinic_without_pumps_or_sessions(clinic):
    rows = plan_json("--clinic", "north", "--as-of", AS_OF, "--weeks", "2")
    assert rows == [
        {"week_start": "2026-03-16", "due": 0, "booked": 0, "capacity": 0, "due_unbooked": 0},
        {"week_start": "2026-03-23", "due": 0, "booked": 0, "capacity": 0, "due_unbooked": 0},
    ]


@pytest.mark.django_db
def test_as_of_defaults_to_today_in_the_clinics_zone(clinic, caseload):
    # 00:30 UTC on Monday 23 Mar is still Sunday 22 Mar in New York, Monday in London.
    with time_machine.travel("2026-03-23 00:30:00+00:00", tick=False):
        assert plan_json("--clinic", "north", "--weeks", "1")[0]["week_start"] == "2026-03-23"
        assert plan_json("--clinic", "south", "--weeks", "1")[0]["week_start"] == "2026-03-16"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clinic", "nowhere"], "--clinic: no clinic with slug 'nowhere'"),
        (["--clinic", "north", "--as-of", "18/03/2026"], "--as-of: Expected a date as YYYY-MM-DD"),
        (["--clinic", "north", "--as-of", "2026-02-30"], "--as-of: This is not a real date"),
        (["--clinic", "north", "--weeks", "0"], "--weeks: expected a whole number of weeks from 1 to 520, got 0"),
        (["--clinic", "north", "--weeks", "-3"], "--weeks: expected a whole number of weeks from 1 to 520"),
        (["--clinic", "north", "--weeks", "twelve"], "--weeks: expected a whole number of weeks"),
        (["--clinic", "north", "--weeks", "521"], "--weeks: expected a whole number of weeks from 1 to 520, got 521"),
    ],
)
def test_bad_arguments_fail_with_a_message(clinic, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        run(*args)


@pytest.mark.django_db
def test_bad_format_is_refused(clinic):
    with pytest.raises(CommandError, match="--format"):
        run("--clinic", "north", "--format", "xml")
