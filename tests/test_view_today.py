"""The Today page: counts that match their lists, the manager's own caseload first,
and the card tag on its own."""

from datetime import timedelta

import pytest
import time_machine
from django.template import Context, Template
from django.urls import reverse

from refills import schedule
from refills.templatetags.dashboard import CountCard, url_if_exists
from tests.dashboard_data import FROZEN, TODAY, book_refill, flagged_refill, pump_with_status

pytestmark = pytest.mark.django_db

URL = "/"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture
def clinic_pumps(clinic, other_clinic, manager):
    pump_with_status(clinic, schedule.EMPTY, manager=manager)
    pump_with_status(clinic, schedule.ALARMING)
    pump_with_status(clinic, schedule.ALARMING, manager=manager)
    pump_with_status(clinic, schedule.OVERDUE)
    pump_with_status(clinic, schedule.DUE_SOON, manager=manager)  # due soon, not booked
    on_time = pump_with_status(clinic, schedule.DUE_SOON)
    book_refill(on_time, on_time.refill_due - timedelta(days=1))
    late = pump_with_status(clinic, schedule.OK, manager=manager)
    book_refill(late, late.refill_due + timedelta(days=5))
    flagged_refill(clinic)
    pump_with_status(clinic, schedule.OK, pump_fields={"eri_date": TODAY + timedelta(days=30)})
    gone = pump_with_status(clinic, schedule.EMPTY)
    gone.status = "explanted"
    gone.explant_date = TODAY
    gone.save()
    # Another clinic's pumps never count here.
    pump_with_status(other_clinic, schedule.EMPTY)
    pump_with_status(other_clinic, schedule.OVERDUE)
    flagged_refill(other_clinic)


def cards_by_key(cards):
    return {card.key: card for card in cards}


def test_counts(client, staff, clinic_pumps):
    client.force_login(staff)
    counts = client.get(URL).context["counts"]
    assert {key: counts[key] for key in ("empty", "alarming", "overdue", "due_soon_unbooked", "booked_late")} == {
        "empty": 1,
        "alarming": 2,
        "overdue": 1,
        "due_soon_unbooked": 1,
        "booked_late": 1,
    }
    assert counts["review"] == 1 and counts["replacements"] == 1 and counts["total"] == 9


def test_each_card_links_to_a_list_with_that_many_rows(client, staff, clinic_pumps):
    client.force_login(staff)
    cards = client.get(URL).context["clinic_cards"]
    assert len(cards) == 7
    for card in cards:
        listing = client.get(card.url)
        table = listing.context.get("table")
        shown = table.paginator.count if table is not None else listing.context["paginator"].count
        assert shown == card.count, card


def test_cards_render_as_links_with_number_and_words(client, staff, clinic_pumps):
    client.force_login(staff)
    html = client.get(URL).content.decode()
    assert '<a class="card count-card tone-overdue" href="/caseload/?status=overdue">' in html
    assert 'href="/caseload/?status=due_soon&amp;booking=unbooked"' in html
    assert 'href="/caseload/?booking=late"' in html
    assert 'href="/review/"' in html and 'href="/replacements/?urgent=1"' in html
    assert '<span class="count">2</span>\n  <span class="count-label">Alarming</span>' in html


def test_staff_without_patients_see_only_the_clinic(client, staff, clinic_pumps):
    client.force_login(staff)
    response = client.get(URL)
    assert response.context["my_cards"] is None
    assert "My caseload" not in response.content.decode()


def test_a_manager_sees_their_own_caseload_first(client, manager, clinic_pumps):
    client.force_login(manager)
    response = client.get(URL)
    mine = cards_by_key(response.context["my_cards"])
    assert {key: card.count for key, card in mine.items()} == {
        "empty": 1,
        "alarming": 1,
        "overdue": 0,
        "due_soon_unbooked": 1,
        "booked_late": 1,
        "review": 0,
        "replacements": 0,
    }
    assert mine["overdue"].url == f"/caseload/?status=overdue&manager={manager.pk}"
    assert mine["review"].url == f"/review/?manager={manager.pk}"
    html = response.content.decode()
    assert html.index("My caseload") < html.index("North Pump Clinic <small")
    # The whole clinic is still there.
    assert cards_by_key(response.context["clinic_cards"])["alarming"].count == 2


def test_my_cards_link_to_lists_with_that_many_rows(client, manager, clinic_pumps):
    client.force_login(manager)
    for card in client.get(URL).context["my_cards"]:
        listing = client.get(card.url)
        table = listing.context.get("table")
        shown = table.paginator.count if table is not None else listing.context["paginator"].count
        assert shown == card.count, card


def test_outsider_sees_their_own_clinic(client, outsider, clinic_pumps):
    client.force_login(outsider)
    counts = client.get(URL).context["counts"]
    assert (counts["empty"], counts["overdue"], counts["alarming"], counts["review"]) == (1, 1, 0, 1)
    assert counts["total"] == 3


def test_count_card_tag():
    card = CountCard("overdue", "Overdue", 3, "/caseload/?status=overdue", "overdue")
    html = Template("{% load dashboard %}{% count_card card %}").render(Context({"card": card}))
    assert '<a class="card count-card tone-overdue" href="/caseload/?status=overdue">' in html
    assert '<span class="count">3</span>' in html and "Overdue" in html


def test_count_card_tag_marks_zero_and_works_without_a_link():
    card = CountCard("review", "Refills awaiting review", 0, "", "review")
    html = Template("{% load dashboard %}{% count_card card %}").render(Context({"card": card}))
    assert html.strip().startswith('<div class="card count-card tone-review is-zero">')
    assert "<a " not in html and '<span class="count">0</span>' in html


def test_url_if_exists():
    assert url_if_exists("caseload") == "/caseload/"
    assert url_if_exists("no_such_page", pk=1) == ""
    html = Template('{% load dashboard %}[{% url_if_exists "no_such_page" pk=1 %}]').render(Context())
    assert html == "[]"


def test_failed_reminders_are_counted_on_today(client, clinic, other_clinic, staff):
    from refills.outbox import Reminder
    from tests.reminders_data import reminder_row

    reminder_row(clinic, status=Reminder.Status.FAILED, target="pump:1")
    reminder_row(clinic, status=Reminder.Status.FAILED, target="pump:2")
    reminder_row(clinic, status=Reminder.Status.SENT, target="pump:3")
    reminder_row(other_clinic, status=Reminder.Status.FAILED, target="pump:4")
    client.force_login(staff)
    page = client.get(reverse("home")).content.decode()
    assert "2 reminders failed to send" in page
