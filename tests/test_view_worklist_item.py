"""The item page: what it is about, its owner, contacts and history; recording a contact attempt
or an exception (bad input names the field and saves nothing)."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.reminders_data import appointment, pump_in_status
from tests.worklist_data import NOW, TODAY, refill_item, synced
from worklist import services
from worklist.models import ContactAttempt, Item, ItemEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def item(clinic):
    pump = pump_in_status(clinic, "overdue", TODAY, mrn="LATE7", phone="0100 555 0177")
    synced(clinic)
    return refill_item(pump)


def test_the_page_shows_need_owner_contacts_and_history(client, item, staff):
    services.claim(item, staff, TODAY)
    services.record_contact(
        item, staff, method="phone_message", with_whom="carer", contacted_at=NOW - timedelta(hours=1), note="Left msg"
    )
    client.force_login(staff)
    html = client.get(reverse("worklist_item", args=[item.pk])).content.decode()
    assert "Overdue" in html and "3 days overdue" in html  # refilled 86 days ago: refill due 83 days after
    assert f"{staff.get_full_name()}, since Wed 25 Nov 2026 10:00" in html
    assert "Phone: message left</strong>, Wed 25 Nov 2026 09:00, with carer" in html
    assert "Left msg" in html
    assert "Opened" in html and "Claimed" in html
    assert 'href="tel:0100 555 0177"' in html
    assert f"/patients/{item.pump.patient_id}/appointments/new/?kind=refill" in html  # Book refill


def test_record_a_no_answer_call(client, item, staff):
    client.force_login(staff)
    response = client.post(
        reverse("worklist_contact", args=[item.pk]),
        {"method": "phone_no_answer", "with_whom": "patient", "contacted_on": "2026-11-25", "contacted_time": "09:45"},
    )
    assert response.status_code == 302
    contact = ContactAttempt.objects.get()
    assert (contact.method, contact.with_whom, contact.recorded_by) == ("phone_no_answer", "patient", staff)
    assert contact.contacted_at.isoformat() == "2026-11-25T09:45:00+00:00"  # London local, GMT in November
    item.refresh_from_db()
    assert item.last_contact == contact


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"contacted_on": "2026-11-26", "contacted_time": "09:00"},
            "Date and time: a contact attempt cannot be in the future.",
        ),
        (
            {"contacted_on": "2026-01-02", "contacted_time": "09:00"},
            "Date: record contact attempts of the last 90 days only.",
        ),
        ({"contacted_on": "not a date", "contacted_time": "09:00"}, "Enter a valid date."),
        ({"method": "pigeon", "contacted_on": "2026-11-25", "contacted_time": "09:00"}, "Select a valid choice."),
    ],
)
def test_a_bad_contact_says_which_field_and_saves_nothing(client, item, staff, data, message):
    client.force_login(staff)
    response = client.post(reverse("worklist_contact", args=[item.pk]), {"method": "letter", **data})
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html and "Nothing was saved" in html
    assert not ContactAttempt.objects.exists()
    assert not ItemEvent.objects.filter(action="contact").exists()


def test_record_an_exception(client, item, staff):
    client.force_login(staff)
    response = client.post(
        reverse("worklist_exception", args=[item.pk]),
        {"reason": "hospital", "note": "Ward 7", "until": "2026-12-02"},
        follow=True,
    )
    assert "Exception recorded until Wed 2 Dec 2026." in response.content.decode()
    item.refresh_from_db()
    assert (item.state, item.exception_reason, item.exception_note, item.excepted_until.isoformat()) == (
        "excepted",
        "hospital",
        "Ward 7",
        "2026-12-02",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "hospital", "until": "2026-11-25"}, "Until: choose a date after today (Wed 25 Nov 2026)."),
        ({"reason": "hospital", "until": "2026-11-01"}, "Until: choose a date after today (Wed 25 Nov 2026)."),
        ({"reason": "hospital", "until": "2028-01-01"}, "Until: choose a date within a year"),
        ({"reason": "other", "until": "2026-12-02"}, "Note: say why when the reason is &#x27;Other&#x27;."),
        ({"reason": "", "until": "2026-12-02"}, "This field is required."),
    ],
)
def test_a_bad_exception_says_which_field_and_saves_nothing(client, item, staff, data, message):
    client.force_login(staff)
    response = client.post(reverse("worklist_exception", args=[item.pk]), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    item.refresh_from_db()
    assert item.state == "open" and item.exception_reason == ""


def test_a_resolved_item_says_why_and_offers_no_forms(client, item, staff):
    appointment(item.pump.patient, TODAY + timedelta(days=1))
    client.force_login(staff)
    html = client.get(reverse("worklist_item", args=[item.pk])).content.decode()
    assert "Record a contact attempt" in html  # an overdue pump stays an item until it is refilled
    Item.objects.filter(pk=item.pk).update(state="resolved", resolution="refilled")
    html = client.get(reverse("worklist_item", args=[item.pk])).content.decode()
    assert "This item no longer needs action: refilled." in html
    assert "Record a contact attempt" not in html


def test_another_clinics_item_page_is_a_404(client, item, outsider):
    client.force_login(outsider)
    assert client.get(reverse("worklist_item", args=[item.pk])).status_code == 404
    assert client.post(reverse("worklist_contact", args=[item.pk]), {"method": "letter"}).status_code == 404
    assert not ContactAttempt.objects.exists()


def test_an_exception_can_be_ended_early_and_the_item_opens_again(client, item, staff, manager):
    from auditlog.models import LogEntry

    services.record_exception(item, manager, reason="hospital", note="", until=TODAY + timedelta(days=7), today=TODAY)
    client.force_login(staff)
    page = client.get(reverse("worklist_item", args=[item.pk])).content.decode()
    assert reverse("worklist_end_exception", args=[item.pk]) in page and "End exception" in page
    assert client.get(reverse("worklist_end_exception", args=[item.pk])).status_code == 405  # POST only
    response = client.post(reverse("worklist_end_exception", args=[item.pk]), follow=True)
    assert "Exception ended: the item is open again." in response.content.decode()
    item.refresh_from_db()
    assert (item.state, item.excepted_until) == ("open", None)
    assert ItemEvent.objects.filter(item=item, action="reopened", by=staff, detail="Exception ended early").exists()
    entry = LogEntry.objects.get_for_object(item).filter(actor=staff).latest("pk")
    assert entry.changes_dict["state"] == ["excepted", "open"]
    again = client.post(reverse("worklist_end_exception", args=[item.pk]), follow=True)
    assert "not under an exception any more" in again.content.decode()


@pytest.mark.parametrize(("status", "words"), [("empty", "This pump is empty"), ("alarming", "This pump is alarming")])
def test_excepting_an_empty_or_alarming_pump_needs_the_tick_naming_the_danger(client, clinic, staff, status, words):
    pump = pump_in_status(clinic, status, TODAY, mrn=f"D-{status}")
    synced(clinic)
    danger = refill_item(pump)
    client.force_login(staff)
    data = {"reason": "hospital", "note": "", "until": "2026-12-02"}
    response = client.post(reverse("worklist_exception", args=[danger.pk]), data)
    assert response.status_code == 200 and f"Tick the box to confirm: {words}" in response.content.decode()
    danger.refresh_from_db()
    assert danger.state != "excepted"
    client.post(reverse("worklist_exception", args=[danger.pk]), {**data, "confirm_danger": "on"})
    danger.refresh_from_db()
    assert danger.state == "excepted"


def test_a_booked_overdue_pump_shows_its_booking_on_the_item_and_the_list(client, item, staff):
    appointment(item.pump.patient, TODAY + timedelta(days=1))  # after refill due: late
    client.force_login(staff)
    html = client.get(reverse("worklist_item", args=[item.pk])).content.decode()
    assert "Refill booked:</strong> Thu 26 Nov 2026 at 14:00, after refill due (late)" in html
    assert "Booked Thu 26 Nov 2026, late: book earlier" in html
    assert "Booked Thu 26 Nov 2026, late: book earlier" in client.get(reverse("worklist")).content.decode()


def test_claim_and_release_messages_name_the_patient(client, item, staff):
    patient = item.pump.patient
    client.force_login(staff)
    response = client.post(reverse("worklist_claim", args=[item.pk]), follow=True)
    assert (
        f"You have claimed the item of {patient.last_name}, {patient.first_name} (LATE7)." in response.content.decode()
    )
    response = client.post(reverse("worklist_release", args=[item.pk]), follow=True)
    assert f"Released: the item of {patient.last_name}, {patient.first_name} (LATE7) is open again." in (
        response.content.decode()
    )
