"""The pump's stored first booked refill (Pump.first_refill_booking) follows every change
to its appointments, so the booking state read from it is the one the appointments give
(schedule.booking_state)."""

from datetime import date, time, timedelta

import pytest
from django.apps import apps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patients.models import Pump
from records.pages import explant
from refills import services
from refills.models import Appointment
from refills.services import first_refill_booking
from tests.factories import AppointmentFactory, PumpFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 1)


@pytest.fixture
def pump():
    return PumpFactory()


def stored(pump: Pump):
    return Pump.objects.values_list("first_refill_booking", flat=True).get(pk=pump.pk)


def book(pump: Pump, day: date = DAY, **kwargs) -> Appointment:
    return AppointmentFactory(patient=pump.patient, pump=pump, local_date=day, **kwargs)


def test_a_booked_refill_is_stored_and_the_earliest_wins(pump):
    assert stored(pump) is None
    book(pump, DAY + timedelta(days=10))
    assert stored(pump) == DAY + timedelta(days=10)
    book(pump, DAY)
    assert stored(pump) == DAY
    book(pump, DAY + timedelta(days=3))
    assert stored(pump) == DAY


def test_other_kinds_do_not_book_a_refill(pump):
    book(pump, DAY, kind=Appointment.Kind.REVIEW)
    book(pump, DAY, kind=Appointment.Kind.REPLACEMENT, local_time=time(11, 0))
    assert stored(pump) is None


@pytest.mark.parametrize(
    "status", [Appointment.Status.CANCELLED, Appointment.Status.COMPLETED, Appointment.Status.NO_SHOW]
)
def test_an_appointment_that_ends_falls_back_to_the_next_booking(pump, status):
    first = book(pump, DAY)
    book(pump, DAY + timedelta(days=7))
    services.set_appointment_status(first, status)
    assert stored(pump) == DAY + timedelta(days=7)


def test_reschedule_and_change_of_kind(pump):
    appointment = book(pump, DAY)
    appointment.local_date = DAY + timedelta(days=20)
    services.move_appointment(appointment)
    assert stored(pump) == DAY + timedelta(days=20)
    appointment.kind = Appointment.Kind.REVIEW
    services.move_appointment(appointment)
    assert stored(pump) is None


def test_moving_an_appointment_to_another_pump_refreshes_both(pump):
    appointment = book(pump, DAY)
    other = PumpFactory(patient=pump.patient, status=Pump.Status.EXPLANTED, serial_number="OTHER1")
    appointment = Appointment.objects.get(pk=appointment.pk)  # as a view loads it
    appointment.pump = other
    services.move_appointment(appointment)
    assert stored(pump) is None
    assert stored(other) == DAY


def test_instance_queryset_and_cascade_deletes(pump):
    first = book(pump, DAY)
    book(pump, DAY + timedelta(days=5))
    services.delete_appointment(first)
    assert stored(pump) == DAY + timedelta(days=5)
    services.delete_appointments(Appointment.objects.filter(pump=pump))
    assert stored(pump) is None
    book(pump, DAY)
    services.delete_appointments(pump.patient.appointments.all())
    assert stored(pump) is None


def test_explant_cancels_bookings_and_the_pump_save_does_not_write_back_a_stale_date(pump):
    book(pump, DAY)
    pump.refresh_from_db()
    assert pump.first_refill_booking == DAY
    explant(pump, DAY - timedelta(days=1))
    assert stored(pump) is None


def test_saving_a_pump_loaded_before_a_booking_keeps_the_booking(pump):
    stale = Pump.objects.get(pk=pump.pk)
    book(pump, DAY)
    stale.eri_date = date(2030, 1, 1)  # edited in another tab
    services.edit_pump(stale)
    assert stored(pump) == DAY


def test_migration_fills_the_column_for_existing_pumps(pump):
    book(pump, DAY)
    Pump.objects.update(first_refill_booking=None)
    migration = __import__("patients.migrations.0004_first_refill_booking", fromlist=["store_first_refill_booking"])
    migration.store_first_refill_booking(apps, None)
    assert stored(pump) == DAY


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["book", "reschedule", "status", "kind", "delete"]),
        st.integers(min_value=0, max_value=5),  # which appointment
        st.integers(min_value=-30, max_value=60),  # day offset
        st.sampled_from(list(Appointment.Status)),
        st.sampled_from(list(Appointment.Kind)),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_any_sequence_of_changes_leaves_the_earliest_scheduled_refill(pump, actions):
    services.delete_appointments(Appointment.objects.filter(pump=pump))
    for action, which, offset, status, kind in actions:
        day = DAY + timedelta(days=offset)
        existing = list(Appointment.objects.filter(pump=pump).order_by("pk"))
        if action == "book" or not existing:
            book(pump, day, local_time=time(8, 0), kind=kind)
            continue
        appointment = existing[which % len(existing)]
        if action == "delete":
            services.delete_appointment(appointment)
            continue
        if action == "reschedule":
            appointment.local_date = day
        elif action == "status":
            appointment.status = status
        else:
            appointment.kind = kind
        services.move_appointment(appointment)
    assert stored(pump) == first_refill_booking(pump.pk)
    expected = min(
        (a.local_date for a in Appointment.objects.filter(pump=pump, kind="refill", status="scheduled")), default=None
    )
    assert stored(pump) == expected
