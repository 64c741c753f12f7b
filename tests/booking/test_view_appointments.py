"""Book, reschedule, cancel, complete and no-show appointments; the upcoming list.

Baseline: today is Sunday 2026-03-01 in Europe/London (GMT; BST from 2026-03-29).
The patient's pump was filled on 2026-01-01 (20 mL, 2000 mcg/mL, 400 mcg/day), so its
refill is due 2026-03-25: a refill booked on or before that is "booked", after it "late".
"""

import csv
import io
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from patients.models import Pump
from refills.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 1)
REFILL_DUE = date(2026, 3, 25)


@pytest.fixture
def patient(pump):
    return pump.patient


def booking(pump) -> str:
    return Pump.objects.with_status(TODAY).get(pk=pump.pk).booking


def appointment(pump, **kwargs):
    return AppointmentFactory(patient=pump.patient, pump=pump, **{"local_date": date(2026, 3, 20), **kwargs})


def book_url(patient, query=""):
    return reverse("appointment_create", kwargs={"pk": patient.pk}) + query


def action_url(name, appt):
    return reverse(name, kwargs={"pk": appt.pk})


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- booking ----------------------------------------------------------------------


def test_get_prefills_kind_and_date_from_the_query(client, staff, patient, manager):
    client.force_login(staff)
    initial = client.get(book_url(patient, "?kind=review&date=2026-03-20")).context["form"].initial
    assert initial == {
        "kind": "review",
        "local_date": date(2026, 3, 20),
        "local_time": time(9, 0),
        "assigned_to": manager.pk,
    }


def test_get_without_a_date_offers_the_refill_due_date(client, staff, patient):
    client.force_login(staff)
    initial = client.get(book_url(patient)).context["form"].initial
    assert (initial["kind"], initial["local_date"]) == ("refill", REFILL_DUE)


@pytest.mark.parametrize(
    "query", ["?kind=bogus&date=2026-13-45", "?date=99999-01-01", "?date=%00", "?kind=&date=", "?date=2031-01-01"]
)
def test_invalid_query_values_are_ignored(client, staff, patient, query):
    client.force_login(staff)
    response = client.get(book_url(patient, query))
    assert response.status_code == 200
    initial = response.context["form"].initial
    assert (initial["kind"], initial["local_date"]) == ("refill", REFILL_DUE)


def test_a_past_date_in_the_query_becomes_the_first_working_day_from_today(client, staff, patient):
    # Today is a Sunday: the clinic's first working day from today is Monday 2 March.
    client.force_login(staff)
    initial = client.get(book_url(patient, "?kind=refill&date=2026-01-05")).context["form"].initial
    assert initial["local_date"] == date(2026, 3, 2)


def test_booking_a_refill_makes_the_pump_booked(client, staff, pump, patient):
    assert booking(pump) == "unbooked"
    client.force_login(staff)
    data = {"kind": "refill", "local_date": "2026-03-20", "local_time": "10:30", "notes": ""}
    response = client.post(book_url(patient), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("patient_detail", kwargs={"pk": patient.pk})
    appt = Appointment.objects.get(patient=patient)
    assert (appt.pump, appt.status, appt.created_by) == (pump, "scheduled", staff)
    assert appt.starts_at == datetime(2026, 3, 20, 10, 30, tzinfo=UTC)  # GMT
    assert booking(pump) == "booked"
    # SPEC 8: the confirmation gives the date in words, never ISO.
    assert "Refill appointment booked for Fri 20 Mar 2026 at 10:30." in messages_of(response)[0]


def test_booking_after_refill_due_is_late_and_times_follow_summer_time(client, staff, pump, patient):
    client.force_login(staff)
    response = client.post(book_url(patient), {"kind": "refill", "local_date": "2026-04-10", "local_time": "09:00"})
    appt = Appointment.objects.get(patient=patient)
    assert appt.starts_at == datetime(2026, 4, 10, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert booking(pump) == "late"
    assert any("booked late" in m for m in messages_of(response))


def test_booking_another_kind_keeps_it_and_links_the_pump(client, staff, pump, patient):
    client.force_login(staff)
    client.post(book_url(patient), {"kind": "review", "local_date": "2026-03-20", "local_time": "09:00"})
    appt = Appointment.objects.get(patient=patient)
    assert (appt.kind, appt.pump, appt.local_time) == ("review", pump, time(9, 0))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("local_date", "1800-01-01"),
        ("local_date", "2026-02-30"),
        ("local_date", "2028-12-31"),
        ("local_date", "yesterday"),
        ("local_time", "25:99"),
        ("kind", "bogus"),
        ("assigned_to", "abc"),
        ("assigned_to", "other-clinic"),
    ],
)
def test_garbage_is_a_field_error_and_books_nothing(client, staff, patient, outsider, field, value):
    value = str(outsider.pk) if value == "other-clinic" else value
    data = {"kind": "refill", "local_date": "2026-03-20", "local_time": "09:00", field: value}
    client.force_login(staff)
    response = client.post(book_url(patient), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Appointment.objects.exists()


def test_outsider_cannot_book_for_this_clinic(client, outsider, patient):
    client.force_login(outsider)
    assert client.get(book_url(patient)).status_code == 404
    data = {"kind": "refill", "local_date": "2026-03-20", "local_time": "09:00"}
    assert client.post(book_url(patient), data).status_code == 404
    assert not Appointment.objects.exists()


# --- rescheduling ------------------------------------------------------------------


def test_reschedule_changes_date_time_and_booking_state(client, staff, pump, manager):
    appt = appointment(pump)
    assert booking(pump) == "booked"
    client.force_login(staff)
    data = {"kind": "review", "local_date": "2026-04-02", "local_time": "11:00", "assigned_to": manager.pk}
    response = client.post(action_url("appointment_edit", appt), data)
    assert response.status_code == 302
    appt.refresh_from_db()
    assert (appt.local_date, appt.local_time, appt.assigned_to) == (date(2026, 4, 2), time(11, 0), manager)
    assert appt.kind == "refill"  # rescheduling keeps the kind
    assert appt.starts_at == datetime(2026, 4, 2, 10, 0, tzinfo=UTC)
    assert booking(pump) == "late"


def test_reschedule_to_the_past_is_refused(client, staff, pump):
    appt = appointment(pump)
    client.force_login(staff)
    response = client.post(action_url("appointment_edit", appt), {"local_date": "2026-02-01", "local_time": "09:00"})
    assert "local_date" in response.context["form"].errors
    appt.refresh_from_db()
    assert appt.local_date == date(2026, 3, 20)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_cancelled_appointment_cannot_be_rescheduled(client, staff, pump, method):
    appt = appointment(pump, status=Appointment.Status.CANCELLED)
    client.force_login(staff)
    response = getattr(client, method)(
        action_url("appointment_edit", appt), {"local_date": "2026-03-21", "local_time": "09:00"}
    )
    assert response.status_code == 302
    assert any("only a scheduled appointment can be rescheduled" in m for m in messages_of(response))
    appt.refresh_from_db()
    assert appt.local_date == date(2026, 3, 20)


def test_outsider_cannot_reschedule(client, outsider, pump):
    appt = appointment(pump)
    client.force_login(outsider)
    assert client.get(action_url("appointment_edit", appt)).status_code == 404
    response = client.post(action_url("appointment_edit", appt), {"local_date": "2026-03-21", "local_time": "9:00"})
    assert response.status_code == 404
    appt.refresh_from_db()
    assert appt.local_date == date(2026, 3, 20)


# --- status actions ----------------------------------------------------------------


def test_cancel_frees_the_booking(client, staff, pump):
    appt = appointment(pump)
    client.force_login(staff)
    response = client.post(action_url("appointment_cancel", appt), {"confirm": "yes"})
    assert response.status_code == 302
    appt.refresh_from_db()
    assert appt.status == "cancelled"
    assert booking(pump) == "unbooked"
    assert any("cancelled" in m for m in messages_of(response))


@pytest.mark.parametrize(
    ("name", "status"), [("appointment_complete", "completed"), ("appointment_no_show", "no_show")]
)
def test_complete_and_no_show_on_the_day(client, staff, pump, name, status):
    appt = appointment(pump, local_date=TODAY)
    client.force_login(staff)
    assert client.post(action_url(name, appt), {"confirm": "yes"}).status_code == 302
    appt.refresh_from_db()
    assert appt.status == status
    assert booking(pump) == "unbooked"


@pytest.mark.parametrize("name", ["appointment_complete", "appointment_no_show"])
def test_a_future_appointment_cannot_be_completed_or_missed_yet(client, staff, pump, name):
    appt = appointment(pump)
    client.force_login(staff)
    response = client.post(action_url(name, appt))
    appt.refresh_from_db()
    assert appt.status == "scheduled"
    assert any("before that day" in m for m in messages_of(response))


def test_a_cancelled_appointment_cannot_be_completed(client, staff, pump):
    appt = appointment(pump, local_date=TODAY, status=Appointment.Status.CANCELLED)
    client.force_login(staff)
    response = client.post(action_url("appointment_complete", appt))
    assert response.status_code == 302
    appt.refresh_from_db()
    assert appt.status == "cancelled"
    assert any("already cancelled" in m for m in messages_of(response))


def test_status_changes_are_posts(client, staff, pump):
    # Issue 12 item 6 changed this: GET of cancel (and no-show) is now the confirmation page.
    appt = appointment(pump, local_date=TODAY)
    client.force_login(staff)
    assert client.get(action_url("appointment_complete", appt)).status_code == 405
    assert client.get(action_url("appointment_cancel", appt)).status_code == 200
    assert client.get(action_url("appointment_no_show", appt)).status_code == 200
    appt.refresh_from_db()
    assert appt.status == "scheduled"


@pytest.mark.parametrize("name", ["appointment_cancel", "appointment_complete", "appointment_no_show"])
def test_another_clinics_appointment_is_404(client, staff, other_clinic, name):
    theirs = AppointmentFactory(patient=PatientFactory(clinic=other_clinic), local_date=TODAY)
    client.force_login(staff)
    assert client.get(action_url(name, theirs)).status_code == 404
    assert client.post(action_url(name, theirs), {"confirm": "yes"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "scheduled"


def test_next_is_followed_only_within_the_site(client, staff, pump):
    first, second = appointment(pump), appointment(pump, local_date=date(2026, 3, 21))
    client.force_login(staff)
    response = client.post(
        action_url("appointment_cancel", first), {"confirm": "yes", "next": "/appointments/?kind=refill"}
    )
    assert response["Location"] == "/appointments/?kind=refill"
    response = client.post(
        action_url("appointment_cancel", second), {"confirm": "yes", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("patient_detail", kwargs={"pk": pump.patient_id})


# --- the upcoming list ---------------------------------------------------------------


@pytest.fixture
def listed(pump, clinic, other_clinic, manager, staff):
    other_patient = PatientFactory(clinic=clinic, mrn="MRN-B")
    return {
        "later": appointment(pump, local_date=date(2026, 3, 20), assigned_to=manager),
        "soon": AppointmentFactory(
            patient=other_patient, kind="review", local_date=TODAY, local_time=time(15, 0), assigned_to=staff
        ),
        "past": appointment(pump, local_date=date(2026, 2, 20)),
        "cancelled": appointment(pump, local_date=date(2026, 3, 5), status=Appointment.Status.CANCELLED),
        "elsewhere": AppointmentFactory(patient=PatientFactory(clinic=other_clinic), local_date=date(2026, 3, 3)),
    }


def test_list_shows_scheduled_appointments_from_today_soonest_first(client, staff, listed):
    client.force_login(staff)
    response = client.get(reverse("appointments"))
    assert list(response.context["appointments"]) == [listed["soon"], listed["later"]]
    html = response.content.decode()
    assert "MRN-B" in html and listed["later"].patient.mrn in html
    assert reverse("appointment_edit", kwargs={"pk": listed["later"].pk}) in html


def test_list_filters_by_assigned_member_and_kind(client, staff, manager, listed):
    client.force_login(staff)
    by_manager = client.get(reverse("appointments"), {"assigned": manager.pk}).context["appointments"]
    assert list(by_manager) == [listed["later"]]
    reviews = client.get(reverse("appointments"), {"kind": "review"}).context["appointments"]
    assert list(reviews) == [listed["soon"]]


def test_list_ignores_bad_filter_values(client, staff, outsider, listed):
    client.force_login(staff)
    for params in ({"assigned": "abc"}, {"assigned": outsider.pk}, {"kind": "bogus"}, {"page": "1"}):
        response = client.get(reverse("appointments"), params)
        assert response.status_code == 200
        assert len(response.context["appointments"]) == 2


def test_csv_export_lists_the_filtered_rows_and_is_logged(client, staff, listed):
    client.force_login(staff)
    response = client.get(reverse("appointments"), {"kind": "refill", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["date", "time", "kind", "mrn", "patient", "pump_serial", "assigned_to"]
    assert [row[:4] for row in rows[1:]] == [["2026-03-20", "10:00", "refill", listed["later"].patient.mrn]]
    entry = LogEntry.objects.get(additional_data__export="appointments")
    assert entry.actor == staff and entry.changes["export"] == ["appointments", "csv, 1 rows"]


def test_csv_cells_cannot_run_as_formulas(client, staff, clinic):
    patient = PatientFactory(clinic=clinic, first_name="=HYPERLINK(1)")
    AppointmentFactory(patient=patient, local_date=TODAY, assigned_to=UserFactory(username="u1"))
    client.force_login(staff)
    rows = list(csv.reader(io.StringIO(client.get(reverse("appointments"), {"format": "csv"}).content.decode())))
    assert rows[1][4].startswith("'=")


def test_no_booking_for_a_patient_no_longer_followed(client, staff, patient):
    patient.status = "transferred"
    patient.save()
    client.force_login(staff)
    response = client.post(book_url(patient), {"kind": "refill", "local_date": "2026-03-20", "local_time": "09:00"})
    assert response.status_code == 302
    assert any("transferred" in m for m in messages_of(response))
    assert not Appointment.objects.exists()


# --- cancel and no-show ask first (issue 12 item 6) ------------------------------------


def test_cancel_asks_for_confirmation_and_a_get_changes_nothing(client, staff, pump):
    pump.patient.first_name, pump.patient.last_name = "Ada", "Lovelace"
    pump.patient.reminders_opt_in, pump.patient.email = True, "ada@example.invalid"
    pump.patient.save()
    appt = appointment(pump, local_time=time(10, 0))
    client.force_login(staff)
    response = client.get(action_url("appointment_cancel", appt), {"next": "/appointments/"})
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        f"Cancel the refill appointment of Ada Lovelace (MRN {pump.patient.mrn}) on Fri 20 Mar 2026 at 10:00?" in html
    )
    assert "This cannot be undone; the patient&#x27;s reminder stops." in html
    assert '<input type="hidden" name="confirm" value="yes">' in html
    assert ">Yes, cancel the appointment</button>" in html
    assert '<a class="btn btn-secondary" href="/appointments/">Keep the appointment</a>' in html
    appt.refresh_from_db()
    assert appt.status == "scheduled"
    assert booking(pump) == "booked"


def test_a_patient_without_reminders_is_not_told_a_reminder_stops(client, staff, pump):
    appt = appointment(pump)
    client.force_login(staff)
    html = client.get(action_url("appointment_cancel", appt)).content.decode()
    assert "This cannot be undone." in html and "reminder stops" not in html
    # Without a "next", Keep leads back to the patient page.
    patient_url = reverse("patient_detail", kwargs={"pk": pump.patient_id})
    assert f'href="{patient_url}">Keep the appointment</a>' in html


@pytest.mark.parametrize("data", [{}, {"confirm": ""}, {"confirm": "no"}, {"next": "/appointments/"}])
def test_a_post_without_the_confirmation_asks_again_and_changes_nothing(client, staff, pump, data):
    appt = appointment(pump)
    client.force_login(staff)
    response = client.post(action_url("appointment_cancel", appt), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing was changed" in html and "Yes, cancel the appointment" in html
    appt.refresh_from_db()
    assert appt.status == "scheduled"
    assert booking(pump) == "booked"


def test_keep_goes_back_to_the_reschedule_page_and_cancel_to_the_patient(client, staff, pump):
    appt = appointment(pump)
    edit = action_url("appointment_edit", appt)
    client.force_login(staff)
    html = client.get(action_url("appointment_cancel", appt), {"back": edit}).content.decode()
    assert f'href="{edit}">Keep the appointment</a>' in html
    assert f'<input type="hidden" name="back" value="{edit}">' in html
    response = client.post(action_url("appointment_cancel", appt), {"confirm": "yes", "back": edit})
    assert response["Location"] == reverse("patient_detail", kwargs={"pk": pump.patient_id})
    appt.refresh_from_db()
    assert appt.status == "cancelled"
    assert "The refill appointment of Fri 20 Mar 2026 is cancelled." in messages_of(response)


def test_keep_and_next_never_leave_the_site(client, staff, pump):
    appt = appointment(pump)
    client.force_login(staff)
    response = client.get(
        action_url("appointment_cancel", appt), {"back": "https://evil.example/", "next": "//evil.example/"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "evil.example" not in html
    assert f'href="{patient_page_url(pump)}">Keep the appointment</a>' in html


def test_the_confirmation_of_an_appointment_no_longer_scheduled_says_so(client, staff, pump):
    appt = appointment(pump, status=Appointment.Status.CANCELLED)
    client.force_login(staff)
    response = client.get(action_url("appointment_cancel", appt))
    assert response.status_code == 302
    assert any("already cancelled" in m for m in messages_of(response))


def test_no_show_asks_for_confirmation_too(client, staff, pump):
    appt = appointment(pump, local_date=TODAY, local_time=time(8, 30))
    client.force_login(staff)
    html = client.get(action_url("appointment_no_show", appt)).content.decode()
    assert "as no-show (the patient did not come)?" in html and "Sun 1 Mar 2026 at 08:30" in html
    assert ">Yes, mark no-show</button>" in html
    assert client.post(action_url("appointment_no_show", appt)).status_code == 200
    appt.refresh_from_db()
    assert appt.status == "scheduled"
    client.post(action_url("appointment_no_show", appt), {"confirm": "yes"})
    appt.refresh_from_db()
    assert appt.status == "no_show"


def test_a_future_no_show_is_refused_before_asking(client, staff, pump):
    appt = appointment(pump)
    client.force_login(staff)
    response = client.get(action_url("appointment_no_show", appt))
    assert response.status_code == 302
    assert any("cannot be marked no-show before that day" in m for m in messages_of(response))


def test_the_words_never_collide(client, staff, pump):
    """ "Cancel" only ever means cancelling the appointment; going back is "Back"."""
    appt = appointment(pump, local_date=TODAY)
    client.force_login(staff)
    cancel_page = action_url("appointment_cancel", appt)
    for url in (action_url("appointment_edit", appt), reverse("appointments"), patient_page_url(pump)):
        html = client.get(url).content.decode()
        assert ">Cancel<" not in html and "Cancel this appointment" not in html, url
        assert "Cancel appointment" in html, url
        # The destructive action is a link to its confirmation page, never a one-click form.
        assert f'action="{cancel_page}"' not in html, url
        assert f'href="{cancel_page}?' in html, url
    edit_html = client.get(action_url("appointment_edit", appt)).content.decode()
    assert f'<a class="btn btn-secondary" href="{patient_page_url(pump)}">Back</a>' in edit_html


def patient_page_url(pump) -> str:
    return reverse("patient_detail", kwargs={"pk": pump.patient_id})


# --- proposals on working days (issue 12 item 13) ------------------------------------


def test_the_proposal_is_the_latest_working_day_before_refill_due(client, staff, clinic, patient):
    clinic.working_days = [0, 1]  # Monday and Tuesday: refill due Wed 25 Mar -> Tue 24 Mar
    clinic.save()
    client.force_login(staff)
    assert client.get(book_url(patient)).context["form"].initial["local_date"] == date(2026, 3, 24)
    # The patient page's "Book appointment" link leaves the proposal to the form (no date= of its own).
    html = client.get(patient_page_url(patient.pumps.get())).content.decode()
    assert '?kind=refill"' in html and "date=2026-03-24" not in html


def test_a_saturday_in_the_link_becomes_the_friday_before(client, staff, patient):
    # E.g. "Book the next refill" after a refill whose next refill due is a Saturday.
    client.force_login(staff)
    initial = client.get(book_url(patient, "?kind=refill&date=2026-03-21")).context["form"].initial
    assert initial["local_date"] == date(2026, 3, 20)


def test_booking_on_a_saturday_needs_the_tick(client, staff, pump, patient):
    client.force_login(staff)
    data = {"kind": "refill", "local_date": "2026-03-21", "local_time": "10:00"}
    response = client.post(book_url(patient), data)
    assert response.status_code == 200
    assert not Appointment.objects.exists()
    html = response.content.decode()
    assert "The date, Sat 21 Mar 2026, is not a working day of the clinic (Monday to Friday)." in html
    assert "Sat 21 Mar 2026 is not a working day of the clinic: book it anyway" in html
    response = client.post(book_url(patient), {**data, "confirm_non_working_day": "on"})
    assert response.status_code == 302
    assert Appointment.objects.get(patient=patient).local_date == date(2026, 3, 21)
    assert booking(pump) == "booked"


def test_rescheduling_to_a_sunday_needs_the_tick(client, staff, pump):
    appt = appointment(pump)
    client.force_login(staff)
    data = {"local_date": "2026-03-22", "local_time": "09:00"}
    response = client.post(action_url("appointment_edit", appt), data)
    assert "local_date" in response.context["form"].errors
    appt.refresh_from_db()
    assert appt.local_date == date(2026, 3, 20)
    client.post(action_url("appointment_edit", appt), {**data, "confirm_non_working_day": "on"})
    appt.refresh_from_db()
    assert appt.local_date == date(2026, 3, 22)


def test_a_patient_without_a_pump_is_offered_a_review_only(client, manager, clinic):
    pumpless = PatientFactory(clinic=clinic, manager=manager)
    client.force_login(manager)
    page = client.get(book_url(pumpless, "?kind=refill")).content.decode()
    assert 'value="review"' in page and 'value="refill"' not in page and 'value="replacement"' not in page
    data = {"kind": "refill", "local_date": "2026-03-03", "local_time": "10:00", "assigned_to": "", "notes": ""}
    response = client.post(book_url(pumpless), data)
    assert response.status_code == 200
    assert "This patient has no implanted pump: choose the appointment kind Review" in response.content.decode()
    assert not Appointment.objects.filter(patient=pumpless).exists()
    client.post(book_url(pumpless), {**data, "kind": "review"})
    assert Appointment.objects.get(patient=pumpless).kind == "review"


def test_the_proposal_is_never_a_time_already_past_today(client, manager, clinic):
    pumpless = PatientFactory(clinic=clinic, manager=manager)
    client.force_login(manager)
    # 12:00 UTC on Monday 2 March (a working day): 09:00 has passed, so tomorrow is proposed.
    with time_machine.travel("2026-03-02 12:00:00Z", tick=False):
        client.force_login(manager)
        form = client.get(book_url(pumpless)).context["form"]
    assert form.initial["local_date"] == date(2026, 3, 3)
    with time_machine.travel("2026-03-02 07:00:00Z", tick=False):
        client.force_login(manager)
        form = client.get(book_url(pumpless)).context["form"]
    assert form.initial["local_date"] == date(2026, 3, 2)


def test_a_time_already_past_today_is_refused_naming_the_time(client, staff, patient):
    # 12:00 UTC = 12:00 in London on Monday 2 March 2026.
    with time_machine.travel("2026-03-02 12:00:00Z", tick=False):
        client.force_login(staff)
        data = {"kind": "review", "local_date": "2026-03-02", "local_time": "11:30"}
        response = client.post(book_url(patient), data)
        assert response.status_code == 200
        assert "The time, 11:30, has already passed today (it is 12:00 now)" in response.content.decode()
        assert "local_time" in response.context["form"].errors
        assert not Appointment.objects.filter(patient=patient).exists()
        client.post(book_url(patient), {**data, "local_time": "12:30"})
    assert Appointment.objects.get(patient=patient).local_time == time(12, 30)


def test_a_booked_late_refill_is_offered_to_move_not_booked_twice(client, staff, clinic, pump):
    """ "Book earlier" (a booked-late item) opens the booking page: it names the late refill and
    links to moving it with a proposal before refill due."""
    from scheduling.models import RefillSession

    pump.refresh_from_db()
    late_day = pump.refill_due + timedelta(days=3)
    while late_day.weekday() > 4:
        late_day += timedelta(days=1)
    late = AppointmentFactory(patient=pump.patient, pump=pump, local_date=late_day, local_time=time(10))
    RefillSession.objects.create(clinic=clinic, member=None, weekday=pump.refill_due.weekday(), start_time=time(9))
    client.force_login(staff)
    html = client.get(book_url(pump.patient, "?kind=refill")).content.decode()
    move = reverse("appointment_edit", args=[late.pk]) + "?propose=1"
    assert "A refill is already booked for" in html and ", after refill due" in html
    assert f'href="{move}"' in html
    form = client.get(move).context["form"]
    assert form["local_date"].value() == pump.refill_due
