"""Booking pages fit the week (SPEC 9): the proposal is a free session slot, and a full session
or an absent member needs a tick naming the problem (appointment create and reschedule pages).

Today is Sunday 1 Mar 2026 (Europe/London). The pump's refill is due Wed 25 Mar 2026.
The manager runs a refill session on Tuesdays 09:00 (two 30-minute slots).
"""

from datetime import date, time

import pytest
from django.urls import reverse

from clinic.models import Membership
from refills.models import Appointment
from scheduling.models import Absence, RefillSession
from tests.factories import AppointmentFactory, PatientFactory

pytestmark = pytest.mark.django_db

REFILL_DUE = date(2026, 3, 25)
TUESDAY_BEFORE = date(2026, 3, 24)


def book_url(pump):
    return reverse("appointment_create", kwargs={"pk": pump.patient_id}) + "?kind=refill&date=2026-03-25"


def post_data(day, start, member, **extra):
    return {"kind": "refill", "local_date": day.isoformat(), "local_time": start, "assigned_to": member.pk, **extra}


def test_the_proposal_is_the_managers_last_session_slot_before_due(client, staff, manager, pump, tuesday_session):
    client.force_login(staff)
    response = client.get(book_url(pump))
    assert response.context["form"].initial == {
        "kind": "refill",
        "local_date": TUESDAY_BEFORE,
        "local_time": time(9),
        "assigned_to": manager.pk,
    }
    assert "Proposed: Tue 24 Mar 2026 at 09:00" in response.content.decode()


def test_the_proposal_skips_taken_slots(client, staff, manager, pump, tuesday_session):
    AppointmentFactory(patient=PatientFactory(clinic=pump.clinic), local_date=TUESDAY_BEFORE, local_time=time(9))
    client.force_login(staff)
    initial = client.get(book_url(pump)).context["form"].initial
    assert (initial["local_date"], initial["local_time"]) == (TUESDAY_BEFORE, time(9, 30))


def test_without_sessions_the_working_day_proposal_stays(client, staff, manager, pump):
    client.force_login(staff)
    initial = client.get(book_url(pump)).context["form"].initial
    assert (initial["local_date"], initial["local_time"], initial["assigned_to"]) == (REFILL_DUE, time(9), manager.pk)


def test_booking_into_a_full_session_needs_the_tick_naming_it(client, staff, manager, pump, tuesday_session):
    for start in (time(9), time(9, 30)):
        AppointmentFactory(patient=PatientFactory(clinic=pump.clinic), local_date=TUESDAY_BEFORE, local_time=start)
    client.force_login(staff)
    refused = client.post(book_url(pump), post_data(TUESDAY_BEFORE, "09:00", manager))
    assert refused.status_code == 200
    assert "The refill session at 09:00 on Tue 24 Mar 2026 is full" in refused.context["form"].errors["local_time"][0]
    assert "confirm_full_session" in refused.context["form"].fields
    assert not Appointment.objects.filter(pump=pump).exists()
    done = client.post(book_url(pump), post_data(TUESDAY_BEFORE, "09:00", manager, confirm_full_session="on"))
    assert done.status_code == 302
    assert Appointment.objects.filter(pump=pump, local_date=TUESDAY_BEFORE).count() == 1


def test_booking_with_an_absent_member_needs_the_tick(client, staff, manager, pump, tuesday_session):
    member = Membership.objects.get(user=manager)
    Absence.objects.create(clinic=pump.clinic, member=member, first_day=date(2026, 3, 23), last_day=date(2026, 3, 27))
    client.force_login(staff)
    refused = client.post(book_url(pump), post_data(date(2026, 3, 25), "10:00", manager))
    name = manager.get_full_name()
    assert refused.context["form"].errors["assigned_to"][0].startswith(f"{name} is away on Wed 25 Mar 2026")
    assert not Appointment.objects.exists()
    # Wednesday has no refill session either: that needs its own tick (tests/booking/test_booking_checks.py).
    ticks = {"confirm_member_absent": "on", "confirm_outside_sessions": "on"}
    done = client.post(book_url(pump), post_data(date(2026, 3, 25), "10:00", manager, **ticks))
    assert done.status_code == 302


def test_the_proposal_with_the_manager_away_uses_the_clinic_session_without_them(
    client, staff, manager, admin_user, pump, tuesday_session
):
    # The admin can refill and is in: the clinic session is held without the manager.
    member = Membership.objects.get(user=manager)
    Absence.objects.create(clinic=pump.clinic, member=member, first_day=date(2026, 3, 1), last_day=date(2026, 3, 31))
    RefillSession.objects.create(clinic=pump.clinic, member=None, weekday=3, start_time=time(14), slots=1)
    client.force_login(staff)
    initial = client.get(book_url(pump)).context["form"].initial
    assert (initial["local_date"], initial["local_time"], initial["assigned_to"]) == (
        date(2026, 3, 19),
        time(14),
        None,
    )


def test_a_clinic_session_with_every_refiller_away_is_skipped_and_booking_it_needs_the_tick(
    client, staff, manager, pump, tuesday_session
):
    """The manager is the clinic's only member who can refill (staff cannot): away in March,
    the clinic's Thursday sessions of March have no one to run them."""
    member = Membership.objects.get(user=manager)
    Absence.objects.create(clinic=pump.clinic, member=member, first_day=date(2026, 3, 1), last_day=date(2026, 3, 31))
    RefillSession.objects.create(clinic=pump.clinic, member=None, weekday=3, start_time=time(14), slots=1)
    client.force_login(staff)
    initial = client.get(book_url(pump)).context["form"].initial
    assert (initial["local_date"], initial["local_time"]) == (date(2026, 4, 2), time(14))  # the first after, late
    data = {"kind": "refill", "local_date": "2026-03-19", "local_time": "14:00", "assigned_to": ""}
    refused = client.post(book_url(pump), data)
    message = "Every admin and pump manager (who can refill) is away on Thu 19 Mar 2026"
    assert refused.context["form"].errors["assigned_to"][0].startswith(message)
    assert not Appointment.objects.exists()
    done = client.post(book_url(pump), {**data, "confirm_no_refiller": "on"})
    assert done.status_code == 302 and Appointment.objects.get().local_date == date(2026, 3, 19)


def test_rescheduling_without_a_change_asks_nothing(client, staff, manager, pump, tuesday_session):
    booked = [
        AppointmentFactory(patient=pump.patient, pump=pump, local_date=TUESDAY_BEFORE, local_time=time(9)),
        AppointmentFactory(
            patient=PatientFactory(clinic=pump.clinic), local_date=TUESDAY_BEFORE, local_time=time(9, 30)
        ),
    ]
    client.force_login(staff)
    url = reverse("appointment_edit", kwargs={"pk": booked[0].pk})
    data = {"local_date": "2026-03-24", "local_time": "09:00", "assigned_to": manager.pk, "notes": "call first"}
    assert client.post(url, data).status_code == 302
    booked[0].refresh_from_db()
    assert booked[0].notes == "call first"


def test_without_sessions_an_absent_member_still_needs_the_tick(client, staff, manager, pump):
    member = Membership.objects.get(user=manager)
    Absence.objects.create(clinic=pump.clinic, member=member, first_day=date(2026, 3, 25), last_day=date(2026, 3, 25))
    client.force_login(staff)
    refused = client.post(book_url(pump), post_data(REFILL_DUE, "10:00", manager))
    assert "is away on Wed 25 Mar 2026" in refused.context["form"].errors["assigned_to"][0]
    assert not Appointment.objects.exists()


def test_without_sessions_the_proposal_leaves_out_a_manager_away_that_day(client, staff, manager, pump):
    member = Membership.objects.get(user=manager)
    Absence.objects.create(clinic=pump.clinic, member=member, first_day=date(2026, 3, 25), last_day=date(2026, 3, 25))
    client.force_login(staff)
    initial = client.get(book_url(pump)).context["form"].initial
    assert (initial["local_date"], initial["assigned_to"]) == (REFILL_DUE, None)
