"""The monthly accountability report page and its CSV: managers and admins, the month chosen
or this month, a clear message for a bad month, the CSV audited as an export."""

import csv
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from auditlog.models import LogEntry
from django.urls import reverse

from tests.factories import PatientFactory, PumpFactory, RefillFactory
from worklist.models import Item

pytestmark = pytest.mark.django_db
URL = reverse("accountability_report")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel("2026-11-25 10:00:00Z", tick=False):
        yield


@pytest.fixture
def november(clinic, staff):
    """Two refills in November (one on its due, one 3 days late) and an item staff claimed and resolved."""
    pumps = []
    for done in (date(2026, 11, 6), date(2026, 11, 9)):
        pump = PumpFactory(patient=PatientFactory(clinic=clinic))
        RefillFactory(pump=pump, performed_on=date(2026, 8, 15), is_initial_fill=True)  # due 6 Nov
        RefillFactory(pump=pump, performed_on=done, volume_removed_ml=Decimal("3"))
        pumps.append(pump)
    opened = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    Item.objects.create(
        clinic=clinic,
        pump=pumps[0],
        kind=Item.Kind.REFILL,
        cycle_date=date(2026, 8, 15),
        opened_at=opened,
        open_since=opened,
        state=Item.State.RESOLVED,
        first_claimed_by=staff,
        first_claimed_at=opened + timedelta(hours=3, minutes=20),
        resolved_by=staff,
        resolved_at=opened + timedelta(days=1),
    )


def test_every_member_may_view_it_staff_too(client, admin_user, manager, staff):
    # SPEC 6: staff view and export reports.
    for user, status in ((admin_user, 200), (manager, 200), (staff, 200)):
        client.force_login(user)
        assert client.get(URL).status_code == status
    client.logout()
    assert reverse("login") in client.get(URL)["Location"]


def test_this_month_by_default_with_the_figures(client, manager, staff, november):
    client.force_login(manager)
    response = client.get(URL)
    assert response.context["month_value"] == "2026-11"
    html = response.content.decode()
    assert "Monthly report: November 2026" in html
    assert "50%</span> on time: 1 of 2 refills" in html
    assert "3 days</span> median lateness of the 1 late refill" in html
    assert "3 h 20 min" in html
    assert "had no due then" not in html  # the first fills were in August, not November
    assert 'href="?month=2026-10"' in html and "?month=2026-12" not in html  # no future month link


def test_another_month_and_a_bad_one(client, manager, november):
    client.force_login(manager)
    october = client.get(URL, {"month": "2026-10"})
    assert october.context["report"].refills == 0
    assert "None</span> on time" in october.content.decode()
    bad = client.get(URL, {"month": "2026-13"})
    assert bad.status_code == 200
    assert "Month: this is not a real month (YYYY-MM). Showing November 2026." in bad.content.decode()
    assert client.get(URL, {"month": "last"}).context["month_value"] == "2026-11"
    # A CSV asked for a bad month is not another month's file: the page says what is wrong.
    refused = client.get(URL, {"month": "2026-00", "format": "csv"})
    assert refused["Content-Type"].startswith("text/html")
    assert "Month: this is not a real month (YYYY-MM)." in refused.content.decode()


def test_csv_download_is_audited(client, clinic, manager, staff, november):
    client.force_login(manager)
    response = client.get(URL, {"month": "2026-11", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="accountability-north-2026-11.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(StringIO(response.content.decode())))
    assert rows[0]["member"] == "(clinic)"
    assert (rows[0]["refills"], rows[0]["refills_on_time"], rows[0]["on_time_rate_percent"]) == ("2", "1", "50")
    assert rows[0]["median_days_late"] == "3"
    staff_row = next(row for row in rows if row["items_resolved"] == "1")
    assert staff_row["median_hours_to_claim"] == "3.3"
    entry = LogEntry.objects.filter(action=LogEntry.Action.ACCESS).latest("timestamp")
    assert entry.additional_data["export"] == "accountability" and entry.actor == manager


def test_linked_in_the_navigation_for_every_member(client, manager, staff):
    for user in (manager, staff):
        client.force_login(user)
        assert f'href="{URL}"' in client.get(reverse("plan")).content.decode()


def test_a_future_month_says_no_data_yet(client, staff, november):
    client.force_login(staff)
    response = client.get(URL, {"month": "2026-12"})
    assert response.context["month_value"] == "2026-11"
    assert "Month: December 2026 has not begun, so there is no data yet. Showing November 2026." in (
        response.content.decode()
    )
    refused = client.get(URL, {"month": "2027-01", "format": "csv"})
    assert refused["Content-Type"].startswith("text/html")


def test_the_clinic_total_counts_unclaimed_items_resolved(client, clinic, staff, november):
    moment = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    pump = Item.objects.get(clinic=clinic).pump
    Item.objects.create(
        clinic=clinic,
        pump=pump,
        kind=Item.Kind.REPLACEMENT,
        cycle_date=pump.implant_date,
        opened_at=moment,
        open_since=moment,
        state=Item.State.RESOLVED,
        resolved_at=moment + timedelta(hours=1),
    )
    client.force_login(staff)
    response = client.get(URL)
    assert response.context["report"].items_resolved == 1  # claimed by a member
    assert response.context["report"].items_resolved_all == 2
    html = response.content.decode()
    assert "All members (items they owned)" in html and "Clinic total (claimed or not)" in html
