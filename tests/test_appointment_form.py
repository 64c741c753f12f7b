"""AppointmentForm: booking dates in the clinic's calendar, the member, the pump."""

from datetime import UTC, date, datetime, time

import pytest
import time_machine

from patients.models import Pump
from refills.forms import AppointmentForm
from refills.models import Appointment
from tests.factories import AppointmentFactory, ClinicFactory, PatientFactory, PumpFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


@pytest.fixture
def patient(clinic):
    return PatientFactory(clinic=clinic)


def submit(patient, today=TODAY, instance=None, **overrides) -> AppointmentForm:
    values = {"kind": "refill", "local_date": "2026-03-20", "local_time": "10:30", "notes": ""}
    values.update(overrides)
    values = {k: v for k, v in values.items() if v is not None}
    before = Appointment.objects.count()
    form = AppointmentForm(values, patient=patient, today=today, instance=instance)
    if form.is_valid():
        form.save()
    else:
        assert Appointment.objects.count() == before
    return form


def assert_error(form, field: str, fragment: str) -> None:
    assert not form.is_valid()
    assert field in form.errors, form.errors
    assert any(fragment in message for message in form.errors[field]), form.errors[field]


def test_booking_is_saved_for_the_active_pump(patient):
    PumpFactory(patient=patient, status=Pump.Status.EXPLANTED, serial_number="OLD")
    active = PumpFactory(patient=patient, serial_number="NEW")
    form = submit(patient)
    assert form.is_valid(), form.errors
    appointment = Appointment.objects.get()
    assert appointment.patient == patient
    assert appointment.pump == active
    assert appointment.status == Appointment.Status.SCHEDULED
    # 10:30 in London in March (GMT) is 10:30 UTC.
    assert appointment.starts_at == datetime(2026, 3, 20, 10, 30, tzinfo=UTC)


def test_booking_without_a_pump(patient):
    assert submit(patient, kind="review").is_valid()
    assert Appointment.objects.get().pump is None


@pytest.mark.parametrize(
    "day, valid",
    [
        ("2026-03-09", False),
        ("2025-12-01", False),
        ("2026-03-10", True),
        ("2028-03-09", True),  # 730 days ahead
        ("2028-03-10", False),  # 731 days ahead
    ],
)
def test_booking_dates(patient, day, valid):
    form = submit(patient, local_date=day)
    if valid:
        assert form.is_valid(), form.errors
        assert Appointment.objects.get().local_date == date.fromisoformat(day)
    else:
        assert "local_date" in form.errors
        assert form.errors["local_date"][0]


def test_past_date_message(patient):
    assert_error(submit(patient, local_date="2026-03-09"), "local_date", "in the past")
    assert_error(submit(patient, local_date="2030-01-01"), "local_date", "two years ahead")


@pytest.mark.parametrize(
    "field, value", [("local_time", "25:00"), ("local_time", ""), ("local_date", ""), ("kind", "surgery")]
)
def test_malformed_input_is_a_field_error(patient, field, value):
    form = submit(patient, **{field: value})
    assert list(form.errors) == [field], form.errors


@pytest.mark.parametrize("who, valid", [("staff", True), ("manager", True), ("outsider", False)])
def test_assigned_member_must_belong_to_the_clinic(patient, request, who, valid):
    user = request.getfixturevalue(who)
    form = submit(patient, assigned_to=str(user.pk))
    if valid:
        assert form.is_valid(), form.errors
        assert Appointment.objects.get().assigned_to == user
    else:
        assert_error(form, "assigned_to", "valid choice")


def test_reschedule_moves_the_start(patient):
    appointment = AppointmentFactory(patient=patient, local_date=date(2026, 3, 20), local_time=time(10, 30))
    form = submit(patient, instance=appointment, local_date="2026-04-02", local_time="09:15")
    assert form.is_valid(), form.errors
    appointment.refresh_from_db()
    # 2 April is in BST: 09:15 local is 08:15 UTC.
    assert appointment.starts_at == datetime(2026, 4, 2, 8, 15, tzinfo=UTC)
    assert Appointment.objects.count() == 1


def test_reschedule_into_the_past_refused(patient):
    appointment = AppointmentFactory(patient=patient, local_date=date(2026, 3, 20), local_time=time(10, 30))
    assert_error(submit(patient, instance=appointment, local_date="2026-03-01"), "local_date", "in the past")
    appointment.refresh_from_db()
    assert appointment.local_date == date(2026, 3, 20)


@pytest.mark.parametrize("time_zone, accepted", [("America/Los_Angeles", True), ("Europe/London", False)])
def test_today_is_the_clinic_local_date(time_zone, accepted):
    # 02:00 UTC on 10 March is still 9 March in Los Angeles (19:00 there, PDT): booking 9 March at
    # 20:00 is later today there; in London it is already 10 March.
    clinic = ClinicFactory(slug="tz", time_zone=time_zone)
    patient = PatientFactory(clinic=clinic)
    with time_machine.travel(datetime(2026, 3, 10, 2, 0, tzinfo=UTC), tick=False):
        form = submit(patient, today=clinic.today(), local_date="2026-03-09", local_time="20:00")
    assert form.is_valid() is accepted
    assert Appointment.objects.count() == (1 if accepted else 0)


# --- working days (SPEC 9): the booking pages ask before a day the clinic does not work ---


def booking_form(patient, instance=None, **overrides) -> AppointmentForm:
    values = {"kind": "refill", "local_date": "2026-03-21", "local_time": "10:30", "notes": ""}  # a Saturday
    values.update(overrides)
    form = AppointmentForm(values, patient=patient, today=TODAY, instance=instance, check_working_day=True)
    if form.is_valid():
        form.save()
    return form


def test_a_non_working_day_is_refused_until_confirmed(patient):
    form = booking_form(patient)
    assert_error(form, "local_date", "The date, Sat 21 Mar 2026, is not a working day of the clinic (Monday to Friday)")
    assert not Appointment.objects.exists()
    # The tick is offered right after the date, naming it.
    assert list(form.fields)[:3] == ["kind", "local_date", "confirm_non_working_day"]
    assert (
        form.fields["confirm_non_working_day"].label
        == "Sat 21 Mar 2026 is not a working day of the clinic: book it anyway"
    )
    form = booking_form(patient, confirm_non_working_day="on")
    assert form.is_valid(), form.errors
    assert Appointment.objects.get().local_date == date(2026, 3, 21)


def test_a_working_day_needs_no_tick_and_shows_none(patient):
    form = booking_form(patient, local_date="2026-03-20")  # a Friday
    assert form.is_valid(), form.errors
    assert "confirm_non_working_day" not in form.fields
    assert "confirm_non_working_day" not in AppointmentForm(patient=patient, today=TODAY, check_working_day=True).fields


def test_the_clinics_own_working_days_count(patient):
    patient.clinic.working_days = [0, 2, 5]  # Monday, Wednesday, Saturday
    patient.clinic.save()
    assert booking_form(patient).is_valid()  # Saturday
    assert_error(booking_form(patient, local_date="2026-03-20"), "local_date", "(Monday, Wednesday, Saturday)")


def test_rescheduling_asks_only_for_a_new_non_working_date(patient):
    # An appointment already on a Saturday (imported) keeps its date without a tick when its time changes.
    appointment = AppointmentFactory(patient=patient, local_date=date(2026, 3, 21), local_time=time(10, 30))
    assert booking_form(patient, instance=appointment, local_time="11:00").is_valid()
    assert_error(booking_form(patient, instance=appointment, local_date="2026-03-22"), "local_date", "Sun 22 Mar 2026")
    appointment.refresh_from_db()
    assert (appointment.local_date, appointment.local_time) == (date(2026, 3, 21), time(11, 0))


def test_the_import_and_the_demo_record_weekend_bookings_without_asking(patient):
    # Without check_working_day (the import, the demo, the admin) a booking made already is recorded as it is.
    assert submit(patient, local_date="2026-03-21").is_valid()
    assert Appointment.objects.get().local_date == date(2026, 3, 21)
