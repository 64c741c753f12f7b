"""Calendar feeds (private URLs, revocable) and a patient's next appointment as an .ics file."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from auditlog.models import LogEntry
from django.urls import reverse
from icalendar import Calendar

from clinic.models import CalendarFeed, Membership, hash_token
from refills.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory, PumpFactory, UserFactory

NOW = "2026-03-01 10:00:00+00:00"
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def appointments(clinic, staff, manager):
    """Appointments in the clinic: some assigned to staff, one long past, one cancelled."""
    ada = PatientFactory(clinic=clinic, mrn="A100", first_name="Ada", last_name="Lovelace")
    bo = PatientFactory(clinic=clinic, mrn="B200", first_name="Bo", last_name="Diddley")
    pump = PumpFactory(patient=ada)
    return {
        # After the clocks change (29 March): 10:30 BST is 09:30 UTC.
        "summer": AppointmentFactory(
            patient=ada, pump=pump, local_date=date(2026, 4, 20), local_time=time(10, 30), assigned_to=staff
        ),
        "winter": AppointmentFactory(
            patient=bo, local_date=date(2026, 3, 3), local_time=time(14, 0), assigned_to=staff
        ),
        "cancelled": AppointmentFactory(
            patient=bo,
            local_date=date(2026, 3, 5),
            local_time=time(9, 0),
            assigned_to=staff,
            status=Appointment.Status.CANCELLED,
        ),
        "recent": AppointmentFactory(
            patient=ada,
            local_date=date(2026, 2, 1),
            local_time=time(9, 0),
            assigned_to=staff,
            status=Appointment.Status.COMPLETED,
        ),
        "old": AppointmentFactory(patient=ada, local_date=date(2026, 1, 1), local_time=time(9, 0), assigned_to=staff),
        "managers": AppointmentFactory(
            patient=bo, local_date=date(2026, 3, 4), local_time=time(11, 0), assigned_to=manager
        ),
    }


def create_feed(client, user, scope="mine") -> str:
    """Create a feed on the page as ``user``; returns the URL path shown once."""
    client.force_login(user)
    response = client.post(reverse("calendar_feeds"), {"action": "create", "scope": scope})
    assert response.status_code == 302
    page = client.get(reverse("calendar_feeds"))
    item = next(item for item in page.context["feeds"] if item["scope"] == scope)
    assert item["new_url"].startswith("http://testserver/feeds/")
    client.logout()
    return item["new_url"].removeprefix("http://testserver")


def fetch(client, path) -> Calendar:
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def events_by_uid(calendar) -> dict:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_my_feed_parses_with_my_appointments_in_the_clinic_zone(client, staff, appointments):
    path = create_feed(client, staff)

    calendar = fetch(client, path)  # anonymous: the token is the credential

    events = events_by_uid(calendar)
    expected = ["summer", "winter", "cancelled", "recent"]  # not "old" (before 30 days ago), not the manager's
    assert set(events) == {f"appointment-{appointments[name].pk}@itb-caseload" for name in expected}
    summer = events[f"appointment-{appointments['summer'].pk}@itb-caseload"]
    start = summer.decoded("DTSTART")
    assert start == datetime(2026, 4, 20, 10, 30, tzinfo=LONDON)
    assert summer["DTSTART"].params["TZID"] == "Europe/London"
    assert start.astimezone(ZoneInfo("UTC")).hour == 9  # BST
    assert summer.decoded("DTEND") - start == timedelta(minutes=30)
    assert str(summer["SUMMARY"]) == "Refill: A100 AL"
    assert summer["STATUS"] == "CONFIRMED"
    assert summer.decoded("LAST-MODIFIED") is not None
    winter = events[f"appointment-{appointments['winter'].pk}@itb-caseload"]
    assert winter.decoded("DTSTART").astimezone(ZoneInfo("UTC")).hour == 14  # GMT
    cancelled = events[f"appointment-{appointments['cancelled'].pk}@itb-caseload"]
    assert cancelled["STATUS"] == "CANCELLED"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]


def test_events_name_mrn_and_initials_only(client, staff, appointments):
    path = create_feed(client, staff, scope="clinic")

    body = client.get(path).content.decode()

    assert "A100" in body and "B200" in body
    for name in ("Ada", "Lovelace", "Diddley"):
        assert name not in body
    summaries = {str(event["SUMMARY"]) for event in Calendar.from_ical(body).walk("VEVENT")}
    assert summaries == {
        "Refill: A100 AL",
        "Refill: A100 AL (completed)",
        "Refill: B200 BD",
        "Refill: B200 BD (cancelled)",
    }


def test_clinic_feed_has_every_appointment_of_this_clinic_only(client, staff, appointments, other_clinic):
    AppointmentFactory(patient=PatientFactory(clinic=other_clinic, mrn="Z900"), local_date=date(2026, 3, 9))
    path = create_feed(client, staff, scope="clinic")

    events = events_by_uid(fetch(client, path))

    assert len(events) == 5  # all but "old"
    assert all("Z900" not in str(event["SUMMARY"]) for event in events.values())


def test_uids_are_stable_across_fetches_and_reschedules(client, staff, appointments):
    path = create_feed(client, staff)
    first = events_by_uid(fetch(client, path))
    appointment = appointments["winter"]
    appointment.local_time = time(15, 0)
    appointment.save()

    second = events_by_uid(fetch(client, path))

    uid = f"appointment-{appointment.pk}@itb-caseload"
    assert set(first) == set(second)
    assert second[uid].decoded("DTSTART") == datetime(2026, 3, 3, 15, 0, tzinfo=LONDON)


def test_revoked_replaced_and_unknown_tokens_are_404(client, staff, appointments):
    old = create_feed(client, staff)
    new = create_feed(client, staff)  # replacing revokes the old URL

    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert client.get("/feeds/" + "x" * 43 + ".ics").status_code == 404

    client.force_login(staff)
    client.post(reverse("calendar_feeds"), {"action": "revoke", "scope": "mine"})
    client.logout()
    assert client.get(new).status_code == 404


def test_feed_of_a_member_who_left_is_404(client, staff, clinic, appointments):
    path = create_feed(client, staff, scope="clinic")
    Membership.objects.filter(user=staff, clinic=clinic).delete()

    assert client.get(path).status_code == 404


def test_token_is_stored_hashed_and_shown_once(client, staff, appointments):
    path = create_feed(client, staff)
    token = path.removeprefix("/feeds/").removesuffix(".ics")

    feed = CalendarFeed.objects.get()
    assert len(token) >= 43  # 32 random bytes
    assert feed.token_hash == hash_token(token) and token not in feed.token_hash
    client.force_login(staff)
    page = client.get(reverse("calendar_feeds"))
    assert token not in page.content.decode()
    assert "Replace URL" in page.content.decode()


def test_each_member_revokes_only_their_own_feed(client, staff, manager, appointments):
    staff_path = create_feed(client, staff, scope="clinic")
    create_feed(client, manager, scope="clinic")

    client.force_login(manager)
    client.post(reverse("calendar_feeds"), {"action": "revoke", "scope": "clinic"})
    client.logout()

    assert client.get(staff_path).status_code == 200
    assert CalendarFeed.objects.filter(revoked_at__isnull=True).get().user == staff


def test_feeds_made_replaced_and_revoked_are_in_the_audit_trail(client, staff, clinic, appointments):
    create_feed(client, staff)
    create_feed(client, staff)  # replaces the first
    client.force_login(staff)
    client.post(reverse("calendar_feeds"), {"action": "revoke", "scope": "mine"})

    entries = LogEntry.objects.get_for_model(CalendarFeed).order_by("pk")
    assert [(e.action, e.actor, sorted(e.changes)) for e in entries] == [
        (LogEntry.Action.CREATE, staff, ["revoked_at", "scope", "user"]),
        (LogEntry.Action.UPDATE, staff, ["revoked_at"]),
        (LogEntry.Action.CREATE, staff, ["revoked_at", "scope", "user"]),
        (LogEntry.Action.UPDATE, staff, ["revoked_at"]),
    ]
    assert all(e.additional_data["clinic_id"] == clinic.pk for e in entries)
    hashes = set(CalendarFeed.objects.values_list("token_hash", flat=True))
    assert not any(h in str(e.changes) for e in entries for h in hashes)
    # The clinic's audit page shows them.
    admin = Membership.objects.create(clinic=clinic, user=UserFactory(username="feed-auditor"), role="admin").user
    client.force_login(admin)
    page = client.get(reverse("audit_log"))
    assert page.status_code == 200 and "calendar feed" in page.content.decode().lower()


def test_bad_post_is_a_message_not_an_error(client, staff):
    client.force_login(staff)

    response = client.post(reverse("calendar_feeds"), {"action": "create", "scope": "everyone"}, follow=True)

    assert "Choose a feed and what to do with it." in response.content.decode()
    assert not CalendarFeed.objects.exists()


def test_first_fetch_per_day_is_recorded(client, staff, appointments):
    path = create_feed(client, staff)

    client.get(path)
    client.get(path)
    entries = LogEntry.objects.filter(action=LogEntry.Action.ACCESS)
    assert entries.count() == 1
    assert entries.get().actor == staff
    assert entries.get().changes_dict["export"] == ["calendar feed (my appointments)", "ics, 4 rows"]

    with time_machine.travel("2026-03-02 08:00:00+00:00", tick=False):
        client.get(path)
    assert entries.count() == 2


def test_patient_ics_is_the_next_appointment_worded_for_the_patient(client, staff, clinic, appointments):
    clinic.phone = "0100 222 3333"
    clinic.save()
    client.force_login(staff)
    patient = appointments["summer"].patient

    response = client.get(reverse("patient_appointment_ics", args=[patient.pk]))

    assert response["Content-Disposition"] == 'attachment; filename="appointment-2026-04-20.ics"'
    calendar = Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == datetime(2026, 4, 20, 10, 30, tzinfo=LONDON)
    assert str(event["UID"]) == f"appointment-{appointments['summer'].pk}@itb-caseload"
    description = str(event["DESCRIPTION"])
    assert "North Pump Clinic" in description and "0100 222 3333" in description
    assert "go to the emergency department and mention the pump" in description
    body = response.content.decode()
    assert "mcg" not in body and "A100" not in body
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(days=-1)
    entry = LogEntry.objects.get(action=LogEntry.Action.ACCESS)
    assert entry.additional_data == {"clinic_id": clinic.pk, "patient_id": patient.pk, "export": "next appointment"}


def test_patient_without_an_upcoming_appointment_goes_back_to_their_page(client, staff, clinic):
    patient = PatientFactory(clinic=clinic)
    AppointmentFactory(patient=patient, local_date=date(2026, 3, 1), local_time=time(9, 0))  # earlier today
    client.force_login(staff)

    response = client.get(reverse("patient_appointment_ics", args=[patient.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("patient_detail", args=[patient.pk])
    assert not LogEntry.objects.filter(action=LogEntry.Action.ACCESS).exists()


def test_feed_in_another_zone_uses_that_zone(client, other_clinic, outsider):
    patient = PatientFactory(clinic=other_clinic, mrn="NY1")
    AppointmentFactory(patient=patient, local_date=date(2026, 3, 10), local_time=time(9, 0), assigned_to=outsider)
    path = create_feed(client, outsider)

    (event,) = fetch(client, path).walk("VEVENT")

    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event.decoded("DTSTART").astimezone(ZoneInfo("UTC")).hour == 13  # EDT from 8 March


def test_a_feed_from_an_earlier_membership_stays_dead(client, staff, clinic, appointments):
    """A membership deleted outside the members page (the admin) revokes nothing, so the feed
    view refuses a feed made before the current membership began (issue 13, defect 5)."""
    path = create_feed(client, staff, scope="clinic")
    Membership.objects.filter(user=staff, clinic=clinic).delete()
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        Membership.objects.create(user=staff, clinic=clinic, role="staff")
        assert client.get(path).status_code == 404
        assert client.get(create_feed(client, staff, scope="clinic")).status_code == 200
