"""A refill awaiting review is named in the pump's status area (SPEC 8: a flagged under-delivery
is a danger, never an "OK" alone): the patient page's header and "Status today", and the
booking form's pump line, say "Under-delivery: review" (or "Over-delivery: review") beside the
pump's status, until a manager acknowledges it."""

import re

import pytest
import time_machine
from django.urls import reverse

from refills import schedule, services
from tests.dashboard_data import FROZEN, flagged_refill, pump_with_status

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def status_area(html: str) -> str:
    """The header's status line and the "Status today" row of the patient page."""
    header = re.search(r'<p class="patient-status">(.*?)</p>', html, re.S).group(1)
    today = re.search(r"<dt>Status today</dt><dd>(.*?)</dd>", html, re.S).group(1)
    return f"{header} | {today}"


def pump_line(html: str) -> str:
    return re.search(r"<dt>Pump</dt><dd>(.*?)</dd>", html, re.S).group(1)


def test_the_patient_page_names_an_under_delivery_beside_the_status(client, clinic, staff):
    refill = flagged_refill(clinic)
    client.force_login(staff)
    area = status_area(client.get(f"/patients/{refill.pump.patient_id}/").content.decode())
    assert text(area) == "Under-delivery: review Refill schedule: OK | Under-delivery: review Refill schedule: OK"
    assert area.count('<span class="badge badge-under_delivery badge-wraps" data-testid="review-flag">') == 2
    assert area.count('class="badge badge-ok badge-wraps"') == 2  # the pump's status is still stated


def test_the_booking_form_names_it_on_the_pump_line(client, clinic, staff):
    refill = flagged_refill(clinic)
    client.force_login(staff)
    html = client.get(reverse("appointment_create", kwargs={"pk": refill.pump.patient_id})).content.decode()
    line = pump_line(html)
    assert text(line) == f"{refill.pump.serial_number} Under-delivery: review Refill schedule: OK"
    assert "badge-under_delivery" in line


def test_an_over_delivery_is_named_too(client, clinic, staff):
    refill = flagged_refill(clinic, removed="10")
    client.force_login(staff)
    html = client.get(f"/patients/{refill.pump.patient_id}/").content.decode()
    assert (
        text(status_area(html))
        == "Over-delivery: review Refill schedule: OK | Over-delivery: review Refill schedule: OK"
    )
    html = client.get(reverse("appointment_create", kwargs={"pk": refill.pump.patient_id})).content.decode()
    assert "Over-delivery: review" in text(pump_line(html))


def test_once_acknowledged_only_the_status_remains(client, clinic, manager):
    refill = flagged_refill(clinic)
    services.acknowledge_refill(refill, manager, "Catheter checked: no leak.")
    client.force_login(manager)
    html = client.get(f"/patients/{refill.pump.patient_id}/").content.decode()
    assert text(status_area(html)) == "OK | OK"
    html = client.get(reverse("appointment_create", kwargs={"pk": refill.pump.patient_id})).content.decode()
    assert text(pump_line(html)) == f"{refill.pump.serial_number} OK"


def test_a_pump_without_a_flag_shows_its_status_alone(client, clinic, staff):
    pump = pump_with_status(clinic, schedule.DUE_SOON)
    client.force_login(staff)
    html = client.get(f"/patients/{pump.patient_id}/").content.decode()
    assert "review-flag" not in html
    assert text(status_area(html)) == "Due soon | Due soon"
