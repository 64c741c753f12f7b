"""The dashboard and patient pages run the same, small number of queries for 5 or 50 rows."""

from datetime import timedelta

import pytest
import time_machine

from refills import schedule
from tests.dashboard_data import FROZEN, TODAY, book_refill, flagged_refill, pump_with_status
from tests.factories import (
    AppointmentFactory,
    PatientFactory,
    ProgramChangeFactory,
    PumpFactory,
    RefillFactory,
    pump_model,
)
from tests.page_queries import count_queries, logged_in

pytestmark = pytest.mark.django_db

MAX_QUERIES = 12
STATUSES = [schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE, schedule.DUE_SOON, schedule.OK]
PAGES = [
    "/",
    "/caseload/",
    "/caseload/?status=overdue&status=empty&booking=booked&high_risk=false&q=exa&sort=-manager",
    "/caseload/?model=prometra-ii-20&manager={manager}",
    "/overdue/",
    "/replacements/",
    "/review/",
]


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


def add_patients(clinic, manager, start, stop):
    """A varied caseload in which any five in a row have every status, a manager, a
    high-risk patient, bookings, ERI dates, a Prometra and a refill awaiting review."""
    for n in range(start, stop):
        fields = {"manager": manager if n % 2 else None, "previous_withdrawal": n % 3 == 0}
        if n % 5 == 4:
            flagged_refill(clinic, **fields)
            continue
        pump_fields = {"model": pump_model("prometra-ii-20" if n % 5 == 3 else "synchromed-ii-20")}
        if n % 3 == 0:
            pump_fields["eri_date"] = TODAY + timedelta(days=n - 20)
        pump = pump_with_status(clinic, STATUSES[n % len(STATUSES)], pump_fields=pump_fields, **fields)
        if n % 2 == 0:
            book_refill(pump, pump.refill_due + timedelta(days=n % 8 - 4))


def test_query_counts_do_not_grow_with_the_caseload(client, clinic, manager):
    logged_in(client, manager)
    pages = [page.format(manager=manager.pk) for page in PAGES]

    add_patients(clinic, manager, 0, 5)
    small = {page: count_queries(client, page) for page in pages}
    add_patients(clinic, manager, 5, 50)
    large = {page: count_queries(client, page) for page in pages}

    print("queries per page:", large)
    assert large == small
    assert max(large.values()) <= MAX_QUERIES, large
    # The lists really show the larger caseload (the counts are not of empty pages).
    assert len(client.get("/caseload/").context["table"].paginated_rows) == 50


def test_exports_do_not_grow_with_the_caseload(client, clinic, manager):
    logged_in(client, manager)
    pages = ["/caseload/?_export=csv", "/overdue/?_export=xlsx", "/replacements/?_export=csv"]
    add_patients(clinic, manager, 0, 5)
    small = {page: count_queries(client, page) for page in pages}
    add_patients(clinic, manager, 5, 50)
    assert {page: count_queries(client, page) for page in pages} == small


def add_history(pump, patient, start, stop):
    """Fills every 20 days (each with an earlier completed visit), a program change after
    every fifth, and a cancelled booking per fill: rows the patient page lists or charts."""
    first = TODAY - timedelta(days=20 * 60)
    for n in range(start, stop):
        day = first + timedelta(days=20 * n)
        RefillFactory(pump=pump, performed_on=day, is_initial_fill=n == 0, volume_removed_ml=None if n == 0 else 4)
        if n % 5 == 4:
            ProgramChangeFactory(pump=pump, performed_on=day + timedelta(days=3), daily_dose_mcg=400 + n)
        AppointmentFactory(patient=patient, pump=pump, local_date=day, status="completed")
        AppointmentFactory(patient=patient, pump=pump, local_date=day + timedelta(days=1), status="cancelled")


def test_patient_page_queries_do_not_grow_with_the_history(client, clinic, manager, staff):
    patient = PatientFactory(clinic=clinic, manager=manager)
    pump = PumpFactory(patient=patient, implant_date=TODAY - timedelta(days=20 * 60 + 1))
    old = PumpFactory(patient=patient, status="explanted", implant_date=TODAY - timedelta(days=4000))
    old.explant_date = TODAY - timedelta(days=20 * 60 + 1)
    old.save()
    logged_in(client, staff)
    page = f"/patients/{patient.pk}/"

    add_history(pump, patient, 0, 5)
    book_refill(pump, TODAY + timedelta(days=5))
    small = count_queries(client, page)
    add_history(pump, patient, 5, 50)
    AppointmentFactory(patient=patient, pump=pump, kind="review", local_date=TODAY + timedelta(days=9))
    large = count_queries(client, page)

    assert large == small, (small, large)
    # Issue 16 added the titration reviews (the candidate card's patient.candidate is joined to
    # the patient's own query); every pump is read once with its status (tests/test_patient_page_queries.py).
    assert large <= MAX_QUERIES, large
    # The page really shows the longer history.
    response = client.get(page)
    assert len([e for e in response.context["timeline"] if e.kind == "refill"]) == 50
    assert len(response.context["upcoming"]) == 2


# Today: the session, user, two-factor and membership lookups (4), the counts (2, when the
# cache is cold), the action list's pumps and flagged refills (2: issue 12 added them) and the
# failed reminders (1).
TODAY_QUERIES = 11  # + the worklist: its items on the page (escalated and listed); + the screening candidates waiting (the standing check is counted with the review counts: tests/test_today_queries.py)


def add_dangers(clinic, manager, start, stop):
    """Pumps of every danger of Today's action list, in turn, and an under-delivery every fifth."""
    kinds = [schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE, "late", "under"]
    for n in range(start, stop):
        kind = kinds[n % len(kinds)]
        fields = {"manager": manager if n % 2 else None}
        if kind == "under":
            flagged_refill(clinic, **fields)
        elif kind == "late":
            pump = pump_with_status(clinic, schedule.OK, **fields)
            book_refill(pump, pump.refill_due + timedelta(days=3))
        else:
            pump_with_status(clinic, kind, **fields)


@pytest.mark.parametrize("url", ["/", "/?mine=1"])
def test_today_runs_the_same_queries_for_3_or_40_dangerous_pumps(client, clinic, manager, url):
    logged_in(client, manager)
    add_dangers(clinic, manager, 0, 3)
    small = count_queries(client, url)
    assert len(client.get(url).context["danger_items"]) == (3 if url == "/" else 1)

    add_dangers(clinic, manager, 3, 40)
    large = count_queries(client, url)
    response = client.get(url)
    # The list really grew: 25 shown of 40 (20 of the manager's own) and a link to the rest.
    shown = response.context["danger_items"]
    assert len(shown) == (25 if url == "/" else 20)
    assert response.context["danger_total"] == (40 if url == "/" else 20)
    assert (small, large) == (TODAY_QUERIES, TODAY_QUERIES)
