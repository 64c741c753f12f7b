"""The Today page: counts that match their lists, the manager's own caseload first,
and the card tag on its own."""

from datetime import timedelta

import pytest
import time_machine
from django.template import Context, Template
from django.urls import reverse

from dashboard.templatetags.dashboard import CountCard, url_if_exists
from patients.models import Pump
from refills import schedule
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
    from reminders.models import Reminder
    from tests.reminders_data import reminder_row

    reminder_row(clinic, status=Reminder.Status.FAILED, target="pump:1")
    reminder_row(clinic, status=Reminder.Status.FAILED, target="pump:2")
    reminder_row(clinic, status=Reminder.Status.SENT, target="pump:3")
    reminder_row(other_clinic, status=Reminder.Status.FAILED, target="pump:4")
    client.force_login(staff)
    page = client.get(reverse("home")).content.decode()
    assert "2 reminders failed to send" in page


# The patients who need action today, named above the counts (issue 12 item 4) ---------------


def danger_rows(response):
    """(kind, MRN, action label, action URL) of each item of Today's action list."""
    return [
        (item.kind, item.patient.mrn, str(item.action.label), item.action.url)
        for item in response.context["danger_items"]
    ]


@pytest.fixture
def dangers(clinic, other_clinic, manager):
    """One pump or refill of each danger, and things that are not dangers, in two clinics."""
    made = {
        "empty": pump_with_status(clinic, schedule.EMPTY, mrn="EMPTY1", phone="0100 555 0001", manager=manager),
        "alarming": pump_with_status(clinic, schedule.ALARMING, mrn="ALARM1", phone="0100 555 0002"),
        "overdue": pump_with_status(clinic, schedule.OVERDUE, mrn="OVER1", phone="0100 555 0003"),
        "late": pump_with_status(clinic, schedule.OK, mrn="LATE1"),
        "under": flagged_refill(clinic, mrn="UNDER1"),  # +4 mL: more left than expected
        "over": flagged_refill(clinic, removed="10", mrn="OVERDELIV1"),  # -4 mL: not a withdrawal risk
    }
    book_refill(made["late"], made["late"].refill_due + timedelta(days=5))
    pump_with_status(clinic, schedule.DUE_SOON, mrn="SOON1")
    pump_with_status(clinic, schedule.OK, mrn="FINE1")
    pump_with_status(other_clinic, schedule.EMPTY, mrn="ELSEWHERE1")
    return made


def test_dangerous_patients_are_named_most_dangerous_first(client, manager, dangers):
    client.force_login(manager)
    response = client.get(URL)
    rows = danger_rows(response)
    assert [(kind, mrn) for kind, mrn, _label, _url in rows] == [
        ("empty", "EMPTY1"),
        ("alarming", "ALARM1"),
        ("overdue", "OVER1"),
        ("booked_late", "LATE1"),
        ("under_delivery", "UNDER1"),
    ]
    html = response.content.decode()
    # Above the counts, with the name, the status in words, how long, and the phone.
    assert html.index("Needs action today") < html.index('id="clinic-caseload"')
    patient = dangers["empty"].patient
    assert f"{patient.last_name}, {patient.first_name}" in html
    assert '<span class="badge badge-empty">Empty</span>' in html
    assert "empty for 5 days, since Fri 27 Mar 2026" in html
    assert "empty in 5 days, on Mon 6 Apr 2026" in html
    assert "4 days overdue" in html
    assert "booked Thu 18 Jun 2026, 5 days after refill due" in html
    assert "+4 mL more left than expected at the refill of Sun 22 Mar 2026" in html
    assert 'href="tel:0100 555 0001"' in html
    assert "ELSEWHERE1" not in html and "SOON1" not in html and "FINE1" not in html and "OVERDELIV1" not in html
    assert response.context["danger_total"] == 5 and response.context["danger_more"] == []


def test_a_manager_records_the_refill_of_an_empty_or_alarming_pump(client, manager, dangers):
    client.force_login(manager)
    actions = {mrn: (label, url) for _kind, mrn, label, url in danger_rows(client.get(URL))}
    assert actions["EMPTY1"] == ("Record refill", f"/pumps/{dangers['empty'].pk}/refill/")
    assert actions["ALARM1"] == ("Record refill", f"/pumps/{dangers['alarming'].pk}/refill/")
    overdue = dangers["overdue"]
    # 1 April 2026 is a Wednesday, a working day: book from today.
    assert actions["OVER1"] == (
        "Book refill",
        f"/patients/{overdue.patient_id}/appointments/new/?kind=refill&date=2026-04-01",
    )
    # Refill due is ahead: the booking form proposes a day on or before it.
    assert actions["LATE1"] == ("Book earlier", f"/patients/{dangers['late'].patient_id}/appointments/new/?kind=refill")
    assert actions["UNDER1"] == ("Review", f"/review/#refill-{dangers['under'].pk}")
    html = client.get(URL).content.decode()
    assert (
        f'href="/pumps/{dangers["empty"].pk}/refill/">Record refill<span class="visually-hidden"> for EMPTY1</span>'
        in html
    )


def test_staff_book_instead_of_recording_a_refill(client, staff, dangers):
    client.force_login(staff)
    actions = {mrn: (label, url) for _kind, mrn, label, url in danger_rows(client.get(URL))}
    empty = dangers["empty"]
    assert actions["EMPTY1"] == (
        "Book refill",
        f"/patients/{empty.patient_id}/appointments/new/?kind=refill&date=2026-04-01",
    )
    assert actions["ALARM1"][0] == "Book refill"
    assert "/refill/" not in "".join(url for _label, url in actions.values())
    assert actions["UNDER1"] == ("See the review", f"/review/#refill-{dangers['under'].pk}")
    # Every action link opens for staff.
    for _label, url in actions.values():
        assert client.get(url).status_code == 200, url


def test_a_pump_booked_on_time_whose_day_passed_gets_a_call(client, staff, clinic):
    overdue = pump_with_status(clinic, schedule.OVERDUE, mrn="MISSED1", phone="0100 555 0009")
    book_refill(overdue, overdue.refill_due - timedelta(days=1))  # before refill due, so "booked", but past
    client.force_login(staff)
    assert danger_rows(client.get(URL)) == [("overdue", "MISSED1", "Call", "tel:0100 555 0009")]


def test_the_list_shows_the_most_urgent_25_and_links_to_the_rest(client, staff, clinic):
    for n in range(27):
        pump_with_status(clinic, schedule.EMPTY, mrn=f"E{n:03d}", refill_ago=101 + n)
    for n in range(2):
        pump_with_status(clinic, schedule.OVERDUE, mrn=f"O{n:03d}")
    late = pump_with_status(clinic, schedule.OK, mrn="LATE1")
    book_refill(late, late.refill_due + timedelta(days=3))
    flagged_refill(clinic, mrn="UNDER1")
    client.force_login(staff)
    response = client.get(URL)
    rows = danger_rows(response)
    assert len(rows) == 25
    # The longest empty first.
    assert [mrn for _kind, mrn, _label, _url in rows][:3] == ["E026", "E025", "E024"]
    assert {kind for kind, *_rest in rows} == {"empty"}
    more = response.context["danger_more"]
    assert [(link.count, link.url) for link in more] == [
        (4, "/overdue/"),
        (1, "/caseload/?booking=late"),
        (1, "/review/"),
    ]
    assert response.context["danger_hidden"] == 6 and response.context["danger_total"] == 31
    html = response.content.decode()
    assert "And 6 more:" in html
    assert '<a href="/overdue/">4 empty, alarming or overdue in the overdue worklist</a>' in html
    # The worklist it links to holds the four not shown.
    assert client.get("/overdue/").context["table"].paginator.count == 29


def test_my_patients_only(client, manager, dangers):
    client.force_login(manager)
    response = client.get(URL + "?mine=1")
    assert [mrn for _kind, mrn, _label, _url in danger_rows(response)] == ["EMPTY1"]
    assert response.context["danger_mine"] is True
    html = response.content.decode()
    assert '<a href="/">all patients</a>' in html


def test_mine_is_ignored_for_a_user_without_patients(client, staff, dangers):
    """Without patients of their own, ?mine=1 shows the whole clinic and no switch is offered."""
    client.force_login(staff)
    response = client.get(URL + "?mine=1")
    assert len(danger_rows(response)) == 5 and response.context["danger_mine"] is False
    assert "my patients" not in response.content.decode()


def test_nothing_urgent_says_so(client, staff, clinic):
    pump_with_status(clinic, schedule.OK)
    client.force_login(staff)
    response = client.get(URL)
    assert response.context["danger_items"] == []
    assert "No pump is empty, alarming or overdue" in response.content.decode()


def test_danger_cards_do_not_look_like_the_review_card(client, staff, clinic_pumps):
    client.force_login(staff)
    html = client.get(URL).content.decode()
    empty_card = html[html.index('class="card count-card tone-empty') :].split("</a>")[0]
    review_card = html[html.index('class="card count-card tone-review') :].split("</a>")[0]
    assert "is-danger" in empty_card and '<span class="count-flag">Danger</span>' in empty_card
    assert "is-danger" not in review_card and '<span class="count-flag">Check</span>' in review_card
    assert "Danger" not in review_card


def test_count_card_flags_only_when_not_zero():
    assert CountCard("empty", "Empty", 2, "/x", "empty").flag == "Danger"
    assert CountCard("empty", "Empty", 0, "/x", "empty").flag == ""
    assert not CountCard("empty", "Empty", 0, "/x", "empty").danger
    assert CountCard("overdue", "Overdue", 3, "/x", "overdue").flag == ""


def test_add_patient_is_one_click_from_today_for_managers(client, manager, staff):
    client.force_login(manager)
    html = client.get(URL).content.decode()
    assert '<a class="btn" href="/patients/new/">Add patient</a>' in html
    client.force_login(staff)
    assert "/patients/new/" not in client.get(URL).content.decode()


@pytest.mark.parametrize(
    ("made", "shown"),
    [
        # The empty and alarming pumps fill the list: the longest empty, then the soonest to run empty.
        ({"empty": 20, "alarming": 10}, {"empty": 20, "alarming": 5}),
        # The overdue pumps are needed too: all empty and alarming ones, then the longest overdue.
        ({"empty": 8, "alarming": 8, "overdue": 12}, {"empty": 8, "alarming": 8, "overdue": 9}),
    ],
)
def test_the_list_is_in_danger_order_whichever_pumps_fill_it(client, staff, clinic, made, shown):
    ago = {"empty": lambda n: 101 + n, "alarming": lambda n: 90 + n % 10, "overdue": lambda n: 84 + n % 6}
    for status, count in made.items():
        for n in range(count):
            pump_with_status(clinic, status, refill_ago=ago[status](n))
    client.force_login(staff)
    items = client.get(URL).context["danger_items"]
    assert {kind: sum(1 for item in items if item.kind == kind) for kind in shown} == shown
    kinds = [item.kind for item in items]
    assert kinds == sorted(kinds, key=["empty", "alarming", "overdue"].index)
    empties = [item.pump.empty_date for item in items if item.kind == "empty"]
    alarming = [item.pump.empty_date for item in items if item.kind == "alarming"]
    overdue = [item.pump.refill_due for item in items if item.kind == "overdue"]
    assert empties == sorted(empties) and alarming == sorted(alarming) and overdue == sorted(overdue)
    # Those shown of a kind cut short are its most urgent (the list is not just any 25).
    alarming_all = sorted(
        p.empty_date for p in Pump.objects.filter(clinic=clinic, alarm_date__lte=TODAY, empty_date__gt=TODAY)
    )
    overdue_all = sorted(
        p.refill_due for p in Pump.objects.filter(clinic=clinic, refill_due__lt=TODAY, alarm_date__gt=TODAY)
    )
    assert alarming == alarming_all[: len(alarming)] and overdue == overdue_all[: len(overdue)]


def test_an_empty_or_overdue_pump_already_booked_says_when_and_offers_book_earlier(client, staff, clinic):
    empty = pump_with_status(clinic, schedule.EMPTY, mrn="EMPTYB1")
    book_refill(empty, TODAY + timedelta(days=2))
    client.force_login(staff)
    actions = {mrn: (label, url) for _kind, mrn, label, url in danger_rows(client.get(URL))}
    assert actions["EMPTYB1"] == ("Book earlier", f"/patients/{empty.patient_id}/appointments/new/?kind=refill")
    assert "; booked Fri 3 Apr 2026, after refill due (late)" in client.get(URL).content.decode()
