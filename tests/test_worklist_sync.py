"""worklist.sync: items derived from the pumps' state, opened, resolved, reopened, once each."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from refills import services
from refills.models import Appointment
from tests.factories import AppointmentFactory, RefillFactory
from tests.reminders_data import appointment, pump_in_status
from tests.worklist_data import NOW, TODAY, refill_item, synced
from worklist.models import Item, ItemEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize("status", ["due_soon", "overdue", "alarming", "empty"])
def test_a_pump_that_needs_a_refill_gets_one_open_item_for_its_fill_cycle(clinic, status):
    pump = pump_in_status(clinic, status, TODAY)
    assert synced(clinic)["opened"] == 1
    item = refill_item(pump)
    assert (item.state, item.cycle_date, item.opened_at) == ("open", pump.last_refill_date, NOW)
    assert list(item.events.values_list("action", flat=True)) == ["opened"]


def test_an_ok_pump_and_a_due_soon_pump_booked_in_time_get_no_item(clinic):
    pump_in_status(clinic, "ok", TODAY)
    booked = pump_in_status(clinic, "due_soon", TODAY)
    appointment(booked.patient, booked.refill_due)
    assert synced(clinic)["opened"] == 0
    assert not Item.objects.exists()


def test_a_booking_after_refill_due_is_an_item(clinic):
    pump = pump_in_status(clinic, "due_soon", TODAY)
    appointment(pump.patient, pump.refill_due + timedelta(days=3))
    synced(clinic)
    assert refill_item(pump).state == "open"


def test_a_second_sync_changes_nothing_and_the_claim_survives_due_soon_to_overdue(clinic, staff):
    pump = pump_in_status(clinic, "due_soon", TODAY)
    synced(clinic)
    item = refill_item(pump)
    Item.objects.filter(pk=item.pk).update(state="claimed", claimed_by=staff)
    later = NOW + timedelta(days=20)  # the pump is overdue by then: the same cycle, the same item
    with time_machine.travel(later, tick=False):
        assert synced(clinic, later) == {"reordered": 1, "resolved": 0, "reopened": 0, "opened": 0, "escalated": 0}
    assert Item.objects.get().claimed_by == staff


def test_booking_on_time_resolves_the_item_as_booked_for_its_owner(clinic, staff):
    pump = pump_in_status(clinic, "due_soon", TODAY)
    synced(clinic)
    Item.objects.filter(pk=refill_item(pump).pk).update(state="claimed", claimed_by=staff)
    appointment(pump.patient, pump.refill_due)
    assert synced(clinic)["resolved"] == 1
    item = refill_item(pump)
    assert (item.state, item.resolution, item.resolved_by, item.resolved_at) == ("resolved", "booked", staff, NOW)


def test_a_cancelled_booking_opens_the_same_item_again(clinic):
    pump = pump_in_status(clinic, "due_soon", TODAY)
    synced(clinic)
    visit = appointment(pump.patient, pump.refill_due)
    synced(clinic)
    services.set_appointment_status(visit, Appointment.Status.CANCELLED)
    assert synced(clinic)["reopened"] == 1
    item = Item.objects.get()
    assert item.state == "open"
    assert list(item.events.values_list("action", flat=True)) == ["opened", "resolved", "reopened"]


def test_a_refill_resolves_the_item_as_refilled_and_a_new_cycle_is_a_new_item(clinic):
    pump = pump_in_status(clinic, "overdue", TODAY)
    synced(clinic)
    RefillFactory(pump=pump, performed_on=TODAY, volume_removed_ml=pump.alarm_volume_ml + 1)
    synced(clinic)
    old = Item.objects.get(pump=pump, kind="refill")
    assert (old.state, old.resolution) == ("resolved", "refilled")


def test_a_flagged_refill_is_a_review_item_until_acknowledged(clinic, manager):
    pump = pump_in_status(clinic, "overdue", TODAY)
    refill = RefillFactory(pump=pump, performed_on=TODAY, volume_removed_ml="9")  # far more left than expected
    assert refill.needs_review
    synced(clinic)
    review = Item.objects.get(kind="review")
    assert (review.refill, review.cycle_date) == (refill, TODAY)
    services.acknowledge_refill(refill, manager, "Checked the catheter.")
    synced(clinic)
    review.refresh_from_db()
    assert (review.state, review.resolution) == ("resolved", "acknowledged")


def test_a_replacement_within_90_days_is_an_item_until_a_replacement_is_booked(clinic):
    pump = pump_in_status(clinic, "ok", TODAY)
    pump.eri_date = TODAY + timedelta(days=60)
    services.edit_pump(pump)
    synced(clinic)
    item = Item.objects.get(kind="replacement")
    assert item.cycle_date == pump.implant_date
    AppointmentFactory(patient=pump.patient, pump=pump, kind="replacement", local_date=TODAY + timedelta(days=30))
    synced(clinic)
    item.refresh_from_db()
    assert (item.state, item.resolution) == ("resolved", "replacement_booked")


def test_an_exception_past_its_until_date_opens_again(clinic, staff):
    pump = pump_in_status(clinic, "overdue", TODAY)
    synced(clinic)
    Item.objects.update(state="excepted", excepted_until=TODAY + timedelta(days=2), excepted_by=staff)
    assert synced(clinic)["reopened"] == 0
    later = datetime(2026, 11, 28, 10, tzinfo=UTC)  # the day after the until-date
    with time_machine.travel(later, tick=False):
        assert synced(clinic, later)["reopened"] == 1
    assert refill_item(pump).state == "open"
    assert ItemEvent.objects.filter(action="reopened").count() == 1


def test_an_explanted_pump_resolves_its_items(clinic):
    pump = pump_in_status(clinic, "overdue", TODAY)
    synced(clinic)
    services.explant(pump, TODAY)
    synced(clinic)
    assert refill_item(pump).resolution == "not_followed"


def test_other_clinics_are_not_touched(clinic, other_clinic):
    pump_in_status(other_clinic, "overdue", TODAY)
    synced(clinic)
    assert not Item.objects.exists()
