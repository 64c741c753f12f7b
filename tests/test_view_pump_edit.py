"""Editing a pump recomputes its stored schedule."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from tests.factories import PumpFactory, RefillFactory


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel("2026-02-01 12:00:00Z", tick=False):
        yield


@pytest.fixture
def pump(clinic):
    pump = PumpFactory(patient__clinic=clinic, serial_number="NGP1", implant_date=date(2024, 6, 1))
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    pump.refresh_from_db()
    assert pump.alarm_date == date(2026, 4, 1)
    return pump


def data(pump, **overrides):
    values = {
        "model": pump.model_id,
        "serial_number": pump.serial_number,
        "implant_date": pump.implant_date.isoformat(),
        "reservoir_ml": str(pump.reservoir_ml),
        "alarm_volume_ml": str(pump.alarm_volume_ml),
        "eri_date": "",
    }
    values.update(overrides)
    return values


def test_form_shows_current_values(client, manager, pump):
    client.force_login(manager)
    html = client.get(reverse("pump_edit", args=[pump.pk])).content.decode()
    assert 'name="implant_date" value="2024-06-01"' in html
    assert 'name="alarm_volume_ml" value="2.00"' in html


def test_raising_alarm_volume_moves_alarm_date_and_refill_due(client, manager, pump):
    client.force_login(manager)
    response = client.post(reverse("pump_edit", args=[pump.pk]), data(pump, alarm_volume_ml="4"))
    assert response.status_code == 302
    assert response["Location"] == reverse("patient_detail", args=[pump.patient_id])
    pump.refresh_from_db()
    # (20 - 4) / 0.2 = 80 days from 2026-01-01; refill due 7 days earlier.
    assert pump.alarm_volume_ml == Decimal(4)
    assert pump.alarm_date == date(2026, 3, 22)
    assert pump.refill_due == date(2026, 3, 15)
    assert pump.empty_date == date(2026, 4, 11)  # the empty date does not depend on the alarm


def test_eri_date_replaces_the_estimate(client, manager, pump):
    client.force_login(manager)
    client.post(reverse("pump_edit", args=[pump.pk]), data(pump, eri_date="2026-01-20"))
    pump.refresh_from_db()
    assert pump.replacement_due == date(2026, 1, 20) and not pump.replacement_estimated


def test_bad_alarm_volume_is_a_field_error_and_nothing_changes(client, manager, pump):
    client.force_login(manager)
    response = client.post(reverse("pump_edit", args=[pump.pk]), data(pump, alarm_volume_ml="0.2"))
    assert response.status_code == 200
    assert "The alarm volume must be between 0.5 and 10 mL." in response.content.decode()
    pump.refresh_from_db()
    assert pump.alarm_volume_ml == 2 and pump.alarm_date == date(2026, 4, 1)


def test_reservoir_smaller_than_a_recorded_fill_is_refused(client, manager, pump):
    client.force_login(manager)
    response = client.post(reverse("pump_edit", args=[pump.pk]), data(pump, reservoir_ml="15"))
    assert "A recorded refill left 20 mL, more than this reservoir holds." in response.content.decode()
    pump.refresh_from_db()
    assert pump.reservoir_ml == 20


def test_staff_gets_403_and_nothing_changes(client, staff, pump):
    client.force_login(staff)
    assert client.get(reverse("pump_edit", args=[pump.pk])).status_code == 403
    assert client.post(reverse("pump_edit", args=[pump.pk]), data(pump, alarm_volume_ml="4")).status_code == 403
    pump.refresh_from_db()
    assert pump.alarm_volume_ml == 2


def test_outsider_gets_404(client, outsider, pump):
    client.force_login(outsider)
    assert client.post(reverse("pump_edit", args=[pump.pk]), data(pump, alarm_volume_ml="4")).status_code == 404
    pump.refresh_from_db()
    assert pump.alarm_volume_ml == 2
