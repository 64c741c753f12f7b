"""The record pages bring the pump's worklist items in line as soon as their service commits
(records.pages.sync_worklist -> worklist.materialise.sync_pump): a refill flagged for review,
a pump left empty by a program change, a booking and its cancellation show on /worklist/ at
once, without waiting for the periodic sync. The flashes name dates in words.

Today is Thu 1 Jan 2026 (Europe/London). The pump was filled on Mon 1 Dec 2025 with 20 mL at
2000 mcg/mL, 400 mcg/day (0.2 mL/day): 13.8 mL expected today, alarm Sun 1 Mar 2026 (2 mL).
"""

from datetime import date, time
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from patients.models import Pump
from refills.models import Appointment, Refill
from tests.factories import AppointmentFactory, PatientFactory, PumpFactory, RefillFactory
from worklist import materialise
from worklist.models import Item

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel("2026-01-01 12:00:00Z", tick=False):
        yield


@pytest.fixture
def pump(clinic, manager):
    patient = PatientFactory(clinic=clinic, manager=manager, mrn="SYNC1")
    pump = PumpFactory(patient=patient, implant_date=date(2025, 9, 1))
    RefillFactory(pump=pump, performed_on=date(2025, 12, 1), is_initial_fill=True)
    pump.refresh_from_db()
    return pump


def worklist_rows(client, user):
    client.force_login(user)
    response = client.get(reverse("worklist"), {"tab": "all"})
    assert response.status_code == 200
    return [(row["item"].pump.patient.mrn, row["item"].kind) for row in response.context["rows"]]


def refill_data(**overrides):
    return {
        "performed_on": "2026-01-01",
        "volume_removed_ml": "13.8",
        "volume_added_ml": "20",
        "volume_after_ml": "20",
        "concentration_mcg_ml": "2000",
        "daily_dose_mcg": "400",
        "dosing_mode": "simple",
        "bolus_allowance_mcg": "0",
        "notes": "",
        "action": "save",
        **overrides,
    }


def test_a_refill_flagged_for_review_is_on_the_worklist_at_once(client, manager, staff, pump):
    assert worklist_rows(client, staff) == []
    client.force_login(manager)
    response = client.post(reverse("refill_create", kwargs={"pk": pump.pk}), refill_data(volume_removed_ml="17.8"))
    assert response.status_code == 302
    refill = Refill.objects.get(pump=pump, performed_on=date(2026, 1, 1))
    assert refill.needs_review and refill.residual_discrepancy_ml == Decimal("4.000")
    item = Item.objects.get(pump=pump)  # no periodic sync has run
    assert (item.kind, item.state, item.refill_id) == (Item.Kind.REVIEW, Item.State.OPEN, refill.pk)
    assert worklist_rows(client, staff) == [("SYNC1", "review")]


def test_a_program_change_that_leaves_the_pump_empty_is_on_the_worklist_at_once(client, manager, staff, pump):
    """3000 mcg/day since Wed 10 Dec 2025 (1.5 mL/day from 18.2 mL): empty since late December."""
    client.force_login(manager)
    data = {
        "performed_on": "2025-12-10",
        "daily_dose_mcg": "3000",
        "bolus_allowance_mcg": "0",
        "dosing_mode": "simple",
        "action": "save",
        # Whatever ticks the form asks for such a dose and dates already past.
        "confirm_unusual_dose": "on",
        "confirm_past_due": "on",
    }
    response = client.post(reverse("program_change_create", kwargs={"pk": pump.pk}), data)
    assert response.status_code == 302, response.context["form"].errors
    assert Pump.objects.with_status(date(2026, 1, 1)).get(pk=pump.pk).status_now == "empty"
    assert worklist_rows(client, staff) == [("SYNC1", "refill")]
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Program change saved. Alarm date Sat 20 Dec 2025, refill due Sat 13 Dec 2025." in texts


def test_a_booking_resolves_the_item_and_its_cancellation_opens_it_again(client, manager, staff, clinic):
    patient = PatientFactory(clinic=clinic, manager=manager, mrn="SOON1")
    late = PumpFactory(patient=patient, implant_date=date(2025, 6, 1))
    RefillFactory(pump=late, performed_on=date(2025, 10, 20), is_initial_fill=True)  # due Sun 11 Jan: due soon
    late.refresh_from_db()
    assert late.refill_due == date(2026, 1, 11)
    materialise.sync_pump(late)
    item = Item.objects.get(pump=late)
    assert item.state == Item.State.OPEN

    client.force_login(staff)
    url = reverse("appointment_create", kwargs={"pk": patient.pk})
    data = {"kind": "refill", "local_date": "2026-01-05", "local_time": "10:00", "assigned_to": ""}
    assert client.post(url, data).status_code == 302
    item.refresh_from_db()
    assert (item.state, item.resolution) == (Item.State.RESOLVED, Item.Resolution.BOOKED)

    appointment = Appointment.objects.get(pump=late)
    cancel = reverse("appointment_cancel", kwargs={"pk": appointment.pk})
    assert client.post(cancel, {"confirm": "yes"}).status_code == 302
    item.refresh_from_db()
    assert item.state == Item.State.OPEN
    assert worklist_rows(client, staff) == [("SOON1", "refill")]


def test_a_pump_edit_flash_names_its_dates_in_words(client, manager, pump):
    client.force_login(manager)
    page = client.get(reverse("pump_edit", kwargs={"pk": pump.pk}))
    data = {
        key: value
        for key, value in page.context["form"].initial.items()
        if value is not None and not isinstance(value, list)
    }
    data = {key: getattr(value, "pk", value) for key, value in data.items()}
    data["notes"] = "Checked."
    response = client.post(reverse("pump_edit", kwargs={"pk": pump.pk}), data)
    assert response.status_code == 302, response.context["form"].errors
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"Pump {pump.serial_number} saved. Alarm date Sun 1 Mar 2026, refill due Sun 22 Feb 2026." in texts


def test_sync_pump_leaves_other_pumps_to_the_periodic_sync(clinic, pump):
    other = PumpFactory(patient=PatientFactory(clinic=clinic), implant_date=date(2025, 6, 1))
    RefillFactory(pump=other, performed_on=date(2025, 10, 1), is_initial_fill=True)  # alarming, never synced
    AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 1, 5), local_time=time(9))
    materialise.sync_pump(pump)
    assert not Item.objects.filter(pump=other).exists()


def test_acknowledging_a_review_resolves_its_item_at_once(client, manager, pump):
    client.force_login(manager)
    client.post(reverse("refill_create", kwargs={"pk": pump.pk}), refill_data(volume_removed_ml="17.8"))
    refill = Refill.objects.get(pump=pump, performed_on=date(2026, 1, 1))
    assert Item.objects.get(pump=pump).state == Item.State.OPEN
    response = client.post(reverse("refill_acknowledge", args=[refill.pk]), {"note": "Pump interrogated: on rate."})
    assert response.status_code == 302
    item = Item.objects.get(pump=pump)  # no periodic sync has run
    assert item.state == Item.State.RESOLVED
