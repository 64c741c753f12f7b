"""The worklist page and its one-click actions (claim, release): tabs, order, what each row
says, never stale (a booking clears an item before the sync runs), the same queries at any size."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.reminders_data import appointment, pump_in_status
from tests.worklist_data import NOW, TODAY, refill_item, synced
from worklist import services
from worklist.models import Item

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def page(client, user, **query):
    client.force_login(user)
    response = client.get(reverse("worklist"), query)
    assert response.status_code == 200
    return response


def mrns(response):
    return [row["item"].pump.patient.mrn for row in response.context["rows"]]


def test_open_items_most_urgent_first_with_need_due_and_owner(client, clinic, staff):
    pump_in_status(clinic, "due_soon", TODAY, mrn="SOON")
    pump_in_status(clinic, "empty", TODAY, mrn="EMPTY")
    pump_in_status(clinic, "overdue", TODAY, mrn="LATE")
    pump_in_status(clinic, "ok", TODAY, mrn="FINE")
    synced(clinic)
    response = page(client, staff)
    assert mrns(response) == ["EMPTY", "LATE", "SOON"]
    html = response.content.decode()
    assert "badge-empty" in html and ">Empty<" in html
    assert "3 days overdue" in html  # refilled 86 days ago: refill due 83 days after (alarm 90 - buffer 7)
    assert "Unclaimed" in html
    assert ("open", "Open", 3) in response.context["tabs"]


def test_an_escalated_item_comes_first(client, clinic, staff, admin_user):
    empty = pump_in_status(clinic, "empty", TODAY, mrn="EMPTY")
    alarming = pump_in_status(clinic, "alarming", TODAY, mrn="ALARM")
    synced(clinic)
    services.claim(refill_item(empty), staff, TODAY)  # claimed: never escalated
    Item.objects.filter(pump=alarming).update(open_since=NOW - timedelta(days=1))
    assert synced(clinic)["escalated"] == 1
    response = page(client, staff, tab="all")
    assert mrns(response) == ["ALARM", "EMPTY"]
    assert "Escalated Wed 25 Nov 2026 10:00" in response.content.decode()


def test_tabs_open_claimed_mine_excepted(client, clinic, staff, manager):
    mine = pump_in_status(clinic, "overdue", TODAY, mrn="MINE")
    theirs = pump_in_status(clinic, "overdue", TODAY, mrn="THEIRS")
    away = pump_in_status(clinic, "overdue", TODAY, mrn="AWAY")
    pump_in_status(clinic, "overdue", TODAY, mrn="OPEN")
    synced(clinic)
    services.claim(refill_item(mine), staff, TODAY)
    services.claim(refill_item(theirs), manager, TODAY)
    services.record_exception(
        refill_item(away), manager, reason="moved_away", note="", until=TODAY + timedelta(days=30), today=TODAY
    )
    assert mrns(page(client, staff)) == ["OPEN"]
    assert sorted(mrns(page(client, staff, tab="claimed"))) == ["MINE", "THEIRS"]
    assert mrns(page(client, staff, tab="mine")) == ["MINE"]
    excepted = page(client, staff, tab="excepted")
    assert mrns(excepted) == ["AWAY"]
    assert "Excepted by Test" in excepted.content.decode() and "until Fri 25 Dec 2026" in excepted.content.decode()
    assert len(mrns(page(client, staff, tab="all"))) == 4
    assert mrns(page(client, staff, tab="nonsense")) == ["OPEN"]  # an unknown tab is the open one


def test_a_booking_clears_the_item_on_the_next_page_load_before_the_sync(client, clinic, staff):
    pump = pump_in_status(clinic, "due_soon", TODAY, mrn="SOON")
    synced(clinic)
    appointment(pump.patient, pump.refill_due)
    response = page(client, staff, tab="all")
    assert mrns(response) == []
    assert refill_item(pump).state == "open"  # the sync has not run: the page reads the pump


def test_claim_in_one_click_back_to_the_list(client, clinic, staff):
    pump = pump_in_status(clinic, "overdue", TODAY)
    synced(clinic)
    item = refill_item(pump)
    client.force_login(staff)
    response = client.post(reverse("worklist_claim", args=[item.pk]), {"next": "/worklist/?tab=open"})
    assert response.status_code == 302 and response["Location"] == "/worklist/?tab=open"
    item.refresh_from_db()
    assert (item.state, item.claimed_by) == ("claimed", staff)


def test_the_loser_of_a_claim_is_told_who_has_it(client, clinic, staff, manager):
    pump = pump_in_status(clinic, "overdue", TODAY)
    synced(clinic)
    item = refill_item(pump)
    services.claim(item, manager, TODAY)
    client.force_login(staff)
    response = client.post(reverse("worklist_claim", args=[item.pk]), follow=True)
    assert f"{manager.get_full_name()} claimed this item first." in response.content.decode()
    item.refresh_from_db()
    assert item.claimed_by == manager


def test_a_foreign_next_is_ignored(client, clinic, staff):
    pump = pump_in_status(clinic, "overdue", TODAY)
    synced(clinic)
    item = refill_item(pump)
    client.force_login(staff)
    response = client.post(reverse("worklist_claim", args=[item.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("worklist_item", args=[item.pk])


def test_release_by_the_claimant(client, clinic, staff):
    pump = pump_in_status(clinic, "overdue", TODAY)
    synced(clinic)
    item = refill_item(pump)
    services.claim(item, staff, TODAY)
    client.force_login(staff)
    client.post(reverse("worklist_release", args=[item.pk]))
    item.refresh_from_db()
    assert (item.state, item.claimed_by) == ("open", None)


def test_staff_cannot_release_a_colleagues_claim(client, clinic, staff, manager):
    pump = pump_in_status(clinic, "overdue", TODAY)
    synced(clinic)
    item = refill_item(pump)
    services.claim(item, manager, TODAY)
    client.force_login(staff)
    response = client.post(reverse("worklist_release", args=[item.pk]), follow=True)
    assert "Only" in response.content.decode() and "can release this item" in response.content.decode()
    item.refresh_from_db()
    assert item.claimed_by == manager


def test_another_clinics_item_is_a_404(client, clinic, other_clinic, outsider):
    pump = pump_in_status(clinic, "overdue", TODAY)
    synced(clinic)
    item = refill_item(pump)
    client.force_login(outsider)
    assert client.post(reverse("worklist_claim", args=[item.pk])).status_code == 404
    assert mrns(page(client, outsider, tab="all")) == []
    item.refresh_from_db()
    assert item.state == "open"


def test_the_same_queries_for_5_or_40_items(client, clinic, staff, manager, django_assert_num_queries):
    statuses = ["empty", "alarming", "overdue", "due_soon"]
    for n in range(5):
        pump_in_status(clinic, statuses[n % 4], TODAY)
    synced(clinic)
    client.force_login(staff)
    url = reverse("worklist") + "?tab=all"
    client.get(url)  # the first request after login also writes the session
    # Session, user, two-factor, membership (4); the tab counts (1); the page's items with pump,
    # patient, owner and last contact (1).
    with django_assert_num_queries(6):
        assert len(client.get(url).context["rows"]) == 5
    for n in range(35):
        pump_in_status(clinic, statuses[n % 4], TODAY)
    synced(clinic)
    for n, item in enumerate(Item.objects.order_by("pk")[:20]):
        services.claim(item, manager if n % 2 else staff, TODAY)
        services.record_contact(item, staff, method="letter", with_whom="", contacted_at=NOW, note="")
    Item.objects.filter(pk__in=Item.objects.order_by("-pk").values("pk")[:3]).update(escalated_at=NOW)
    with django_assert_num_queries(6):
        assert len(client.get(url).context["rows"]) == 40
