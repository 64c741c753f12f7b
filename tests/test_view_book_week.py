"""Book the week: the week's unbooked pumps with proposals that never share a slot, edited,
reviewed, then confirmed all or nothing (every problem named by row and field).

Today is Monday 2 Mar 2026 (Europe/London); the page opens on the next week, Mon 9 to Sun
15 Mar. The manager runs a refill session on Tuesdays at 09:00 with two 30-minute slots.
A pump filled with 20 mL (2000 mcg/mL, 400 mcg/day) is due 83 days after its fill.
"""

from datetime import date, time, timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.urls import reverse

from clinic.models import Membership
from patients.models import Patient, Pump
from refills.models import Appointment
from scheduling.models import Absence, RefillSession
from tests.factories import AppointmentFactory, PatientFactory, PumpFactory, RefillFactory

pytestmark = pytest.mark.django_db

TUE_3, TUE_10 = date(2026, 3, 3), date(2026, 3, 10)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel("2026-03-02 12:00:00Z", tick=False):
        yield


def pump_due(clinic, due: date, manager=None, mrn=None) -> Pump:
    patient = PatientFactory(clinic=clinic, manager=manager, **({"mrn": mrn} if mrn else {}))
    pump = PumpFactory(patient=patient, implant_date=date(2025, 6, 1))
    RefillFactory(pump=pump, performed_on=due - timedelta(days=83), is_initial_fill=True)
    pump.refresh_from_db()
    assert pump.refill_due == due
    return pump


@pytest.fixture
def week(clinic, manager):
    member = Membership.objects.get(clinic=clinic, user=manager)
    RefillSession.objects.create(clinic=clinic, member=member, weekday=1, start_time=time(9), slots=2)
    pumps = {
        "overdue": pump_due(clinic, date(2026, 2, 27), manager, "MRN-OVERDUE"),
        "wed": pump_due(clinic, date(2026, 3, 11), manager, "MRN-WED"),
        "thu": pump_due(clinic, date(2026, 3, 12), manager, "MRN-THU"),
        "fri": pump_due(clinic, date(2026, 3, 13), manager, "MRN-FRI"),
        "later": pump_due(clinic, date(2026, 3, 20), manager, "MRN-LATER"),
        "booked": pump_due(clinic, date(2026, 3, 12), manager, "MRN-BOOKED"),
    }
    AppointmentFactory(patient=pumps["booked"].patient, pump=pumps["booked"], local_date=date(2026, 3, 5))
    return pumps


def rows_of(response):
    return [(row.pump.patient.mrn, row.day, row.start, row.member_id, row.late) for row in response.context["rows"]]


def post_data(response, action="review", **changes):
    """The page's form as the browser sends it (every row ticked), with ``changes`` by pump id."""
    data = {"week": response.context["monday"].isoformat(), "action": action, "pump": []}
    for row in response.context["rows"]:
        key = row.key
        data["pump"].append(key)
        data.update(
            {
                f"book-{key}": "yes",
                f"date-{key}": row.day.isoformat(),
                f"time-{key}": f"{row.start:%H:%M}",
                f"member-{key}": row.member_id or "",
            }
        )
    for name, value in changes.items():
        data[name] = value
    return data


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(reverse("book_week"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_outsider_sees_only_their_own_clinic(client, outsider, week):
    client.force_login(outsider)
    response = client.get(reverse("book_week"))
    assert response.status_code == 200 and response.context["rows"] == []
    foreign = str(week["wed"].pk)
    data = {"week": "2026-03-09", "action": "confirm", "pump": [foreign], f"book-{foreign}": "yes"}
    data.update({f"date-{foreign}": "2026-03-10", f"time-{foreign}": "09:00"})
    client.post(reverse("book_week"), data)
    assert not Appointment.objects.filter(pump=week["wed"]).exists()


@pytest.mark.parametrize("who", ["staff", "manager", "admin_user"])
def test_every_role_may_book_the_week(client, request, who, week):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("book_week")).status_code == 200


def test_the_week_lists_unbooked_due_and_overdue_pumps_with_slots_never_shared(client, staff, manager, week):
    client.force_login(staff)
    response = client.get(reverse("book_week"))
    assert response.context["monday"] == date(2026, 3, 9)
    assert rows_of(response) == [
        ("MRN-OVERDUE", TUE_3, time(9), manager.pk, True),
        ("MRN-WED", TUE_10, time(9), manager.pk, False),
        ("MRN-THU", TUE_10, time(9, 30), manager.pk, False),
        ("MRN-FRI", TUE_3, time(9, 30), manager.pk, False),  # Tue 10 is full by now: the Tuesday before
    ]
    page = response.content.decode()
    assert "Book the week of Mon 9 Mar 2026" in page and "Would be late" in page and "Booked late" not in page
    assert "No one assigned (clinic session)" in page and "Nobody yet" not in page


def test_a_patient_no_longer_followed_is_not_listed(client, staff, week):
    Patient.objects.filter(pk=week["wed"].patient_id).update(status=Patient.Status.INACTIVE)
    client.force_login(staff)
    assert "MRN-WED" not in [row[0] for row in rows_of(client.get(reverse("book_week")))]


def test_review_then_confirm_books_every_row_in_one_go(client, staff, manager, week):
    client.force_login(staff)
    page = client.get(reverse("book_week"))
    review = client.post(reverse("book_week"), post_data(page))
    assert review.context["stage"] == "review" and not Appointment.objects.filter(created_by=staff).exists()
    assert "Confirm 4 bookings" in review.content.decode()
    done = client.post(reverse("book_week"), post_data(page, action="confirm"), follow=True)
    assert done.redirect_chain[-1][0].endswith("?week=2026-03-09")
    # The weeks really booked: two proposals fall in the week before the one chosen.
    assert (
        "4 refills booked: 2 in the week of Mon 2 Mar 2026, 2 in the week of Mon 9 Mar 2026." in done.content.decode()
    )
    booked = Appointment.objects.filter(created_by=staff).order_by("local_date", "local_time")
    assert [(a.pump.patient.mrn, a.local_date, a.local_time, a.assigned_to) for a in booked] == [
        ("MRN-OVERDUE", TUE_3, time(9), manager),
        ("MRN-FRI", TUE_3, time(9, 30), manager),
        ("MRN-WED", TUE_10, time(9), manager),
        ("MRN-THU", TUE_10, time(9, 30), manager),
    ]
    bookings = dict(Pump.objects.with_status(date(2026, 3, 2)).values_list("patient__mrn", "booking"))
    assert (bookings["MRN-WED"], bookings["MRN-OVERDUE"]) == ("booked", "late")
    assert LogEntry.objects.filter(actor=staff, content_type__model="appointment").count() == 4
    empty = client.get(reverse("book_week"))
    assert empty.context["rows"] == []  # nothing left to book that week
    # ... but the overdue pump is booked late: the page says so rather than "all booked".
    assert "but 1 of them only after refill due" in empty.content.decode()
    assert f"{reverse('caseload')}?booking=late" in empty.content.decode()


def test_an_unticked_row_is_skipped_and_an_edited_row_keeps_its_edit(client, staff, admin_user, week):
    client.force_login(staff)
    page = client.get(reverse("book_week"))
    wed, thu = str(week["wed"].pk), str(week["thu"].pk)
    changes = {f"book-{wed}": "", f"date-{thu}": "2026-03-11", f"time-{thu}": "14:15", f"member-{thu}": admin_user.pk}
    client.post(reverse("book_week"), post_data(page, action="confirm", **changes))
    assert not Appointment.objects.filter(pump=week["wed"]).exists()
    thu_booking = Appointment.objects.get(pump=week["thu"])
    assert (thu_booking.local_date, thu_booking.local_time, thu_booking.assigned_to) == (
        date(2026, 3, 11),
        time(14, 15),
        admin_user,
    )
    assert Appointment.objects.filter(created_by=staff).count() == 3


def test_any_bad_row_saves_nothing_and_every_problem_is_named_by_row_and_field(client, staff, week):
    client.force_login(staff)
    page = client.get(reverse("book_week"))
    wed, fri = str(week["wed"].pk), str(week["fri"].pk)
    changes = {f"date-{wed}": "2026-02-20", f"time-{fri}": "25:99"}
    refused = client.post(reverse("book_week"), post_data(page, action="confirm", **changes))
    assert refused.status_code == 200 and not Appointment.objects.filter(created_by=staff).exists()
    problems = [(p["row"].number, p["label"]) for p in refused.context["problems"]]
    assert problems == [(2, "Date"), (4, "Time")]
    text = refused.content.decode()
    assert "Nothing was booked: 2 problems to fix" in text
    assert "Row 2 (MRN-WED), Date: This date is in the past (today is Mon 2 Mar 2026)." in text
    assert "Row 4 (MRN-FRI), Time: Enter a time as HH:MM." in text


def test_a_full_session_or_a_non_working_day_needs_the_rows_tick(client, staff, week):
    client.force_login(staff)
    page = client.get(reverse("book_week"))
    fri = str(week["fri"].pk)
    moved = {f"date-{fri}": "2026-03-10", f"time-{fri}": "09:00", f"member-{fri}": ""}  # both slots are the batch's
    refused = client.post(reverse("book_week"), post_data(page, **moved))
    assert refused.context["stage"] == "edit"
    assert "the refill session at 09:00 on Tue 10 Mar 2026 is full" in refused.content.decode()
    assert [p["label"] for p in refused.context["problems"]] == ["Book anyway"]
    saturday = {f"date-{fri}": "2026-03-07"}
    refused = client.post(reverse("book_week"), post_data(page, **saturday))
    assert "Sat 7 Mar 2026 is not a working day" in refused.content.decode()
    ticked = client.post(
        reverse("book_week"), post_data(page, action="confirm", **saturday, **{f"confirm-{fri}": "yes"})
    )
    assert ticked.status_code == 302
    assert Appointment.objects.get(pump=week["fri"]).local_date == date(2026, 3, 7)


def test_a_pump_booked_meanwhile_refuses_the_whole_batch(client, staff, week):
    client.force_login(staff)
    page = client.get(reverse("book_week"))
    AppointmentFactory(patient=week["wed"].patient, pump=week["wed"], local_date=date(2026, 3, 6))
    refused = client.post(reverse("book_week"), post_data(page, action="confirm"))
    assert "A refill was booked for this pump meanwhile (Fri 6 Mar 2026)." in refused.content.decode()
    assert Appointment.objects.count() == 2  # the two booked by the test itself


def test_a_past_week_shows_this_week_and_next_week_links_on(client, staff, week):
    client.force_login(staff)
    response = client.get(reverse("book_week") + "?week=2026-01-05")
    assert response.context["monday"] == date(2026, 3, 2)
    assert response.context["previous_week"] is None
    response = client.get(reverse("book_week") + "?week=2026-03-18")
    assert response.context["monday"] == date(2026, 3, 16)
    assert "MRN-LATER" in [row[0] for row in rows_of(response)]


def test_without_sessions_proposals_step_half_an_hour_and_skip_an_absent_manager(client, staff, manager, clinic):
    for n in range(3):
        pump_due(clinic, date(2026, 3, 11), manager, f"MRN-SAME{n}")
    away = pump_due(clinic, date(2026, 3, 12), manager, "MRN-AWAY")
    member = Membership.objects.get(user=manager)
    Absence.objects.create(clinic=clinic, member=member, first_day=date(2026, 3, 12), last_day=date(2026, 3, 12))
    client.force_login(staff)
    page = client.get(reverse("book_week"))
    assert rows_of(page) == [
        ("MRN-SAME0", date(2026, 3, 11), time(9), manager.pk, False),
        ("MRN-SAME1", date(2026, 3, 11), time(9, 30), manager.pk, False),
        ("MRN-SAME2", date(2026, 3, 11), time(10), manager.pk, False),
        ("MRN-AWAY", date(2026, 3, 12), time(9), None, False),  # nobody yet: the manager is away
    ]
    assert client.post(reverse("book_week"), post_data(page, action="confirm")).status_code == 302
    assert Appointment.objects.get(pump=away).assigned_to is None


def test_todays_session_that_has_begun_is_not_proposed_and_a_past_time_today_is_refused(client, staff, clinic, week):
    # 12:00 on Monday 2 Mar: a clinic session at 09:00 today has begun, so the overdue pump
    # gets the manager's Tuesday slot, not 09:00 today.
    RefillSession.objects.create(clinic=clinic, member=None, weekday=0, start_time=time(9), slots=4)
    client.force_login(staff)
    response = client.get(reverse("book_week"))
    overdue = next(row for row in response.context["rows"] if row.pump == week["overdue"])
    assert overdue.day != date(2026, 3, 2)
    key = str(week["overdue"].pk)
    data = post_data(response, **{f"date-{key}": "2026-03-02", f"time-{key}": "11:30"})
    response = client.post(reverse("book_week"), data)
    assert "This time has already passed today (it is 12:00 now)" in response.content.decode()
    assert not Appointment.objects.filter(local_date=date(2026, 3, 2)).exists()
