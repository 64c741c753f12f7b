"""The dashboard pages run the same, small number of queries for 5 or 50 patients."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from refills import schedule
from tests.dashboard_data import FROZEN, TODAY, book_refill, flagged_refill, pump_with_status
from tests.factories import pump_model

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


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def test_query_counts_do_not_grow_with_the_caseload(client, clinic, manager):
    client.force_login(manager)
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
    client.force_login(manager)
    pages = ["/caseload/?_export=csv", "/overdue/?_export=xlsx", "/replacements/?_export=csv"]
    add_patients(clinic, manager, 0, 5)
    small = {page: count_queries(client, page) for page in pages}
    add_patients(clinic, manager, 5, 50)
    assert {page: count_queries(client, page) for page in pages} == small
