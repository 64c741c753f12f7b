"""The patient page's danger banner (issue 12 item 4, SPEC 8): an empty, alarming or overdue
pump, or a refill awaiting review, gets a full-width banner at the top saying what to do,
with the one action the user's role may take."""

import re
from datetime import timedelta

import pytest
import time_machine

from refills import schedule
from tests.dashboard_data import FROZEN, book_refill, flagged_refill, pump_with_status

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


def banners(client, patient) -> list[str]:
    """The text of each banner, in order, and its links."""
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    found = re.findall(r'<section class="danger-banner.*?</section>', html, re.S)
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", b)).strip() + " " + " ".join(re.findall(r'href="([^"]+)"', b))
        for b in found
    ]


def test_an_empty_pump_says_withdrawal_risk_and_a_manager_records_the_refill(client, clinic, manager):
    pump = pump_with_status(clinic, schedule.EMPTY, phone="0100 555 0001")
    client.force_login(manager)
    [banner] = banners(client, pump.patient)
    assert banner.startswith("Pump projected EMPTY since Fri 27 Mar 2026.")
    assert (
        "Withdrawal risk: call the patient today (0100 555 0001) and refill, or send them to the emergency department."
        in banner
    )
    assert banner.endswith(f"Record refill /pumps/{pump.pk}/refill/")


def test_staff_are_offered_the_booking_instead(client, clinic, staff):
    pump = pump_with_status(clinic, schedule.EMPTY)
    client.force_login(staff)
    [banner] = banners(client, pump.patient)
    assert "Record refill" not in banner
    assert banner.endswith(f"Book refill /patients/{pump.patient_id}/appointments/new/?kind=refill&amp;date=2026-04-01")


def test_the_banner_comes_before_everything_else_on_the_page(client, clinic, staff):
    pump = pump_with_status(clinic, schedule.ALARMING)
    client.force_login(staff)
    html = client.get(f"/patients/{pump.patient_id}/").content.decode()
    assert (
        html.index('class="danger-banner') < html.index('aria-label="Patient actions"') < html.index('id="h-details"')
    )


def test_alarming_says_when_it_runs_empty(client, clinic, manager):
    pump = pump_with_status(clinic, schedule.ALARMING)
    client.force_login(manager)
    [banner] = banners(client, pump.patient)
    assert banner.startswith("Pump ALARMING since Fri 27 Mar 2026: projected empty on Mon 6 Apr 2026.")
    assert "refill before Mon 6 Apr 2026" in banner


def test_overdue_unbooked_and_booked_late(client, clinic, staff):
    unbooked = pump_with_status(clinic, schedule.OVERDUE)
    late = pump_with_status(clinic, schedule.OVERDUE)
    book_refill(late, late.refill_due + timedelta(days=10))
    client.force_login(staff)
    [first] = banners(client, unbooked.patient)
    assert first.startswith("Refill OVERDUE since Sat 28 Mar 2026 (4 days). No refill is booked: book one now.")
    assert "Book refill" in first
    [second] = banners(client, late.patient)
    assert "A refill is booked on Tue 7 Apr 2026, after refill due: book it earlier." in second


def test_a_refill_awaiting_review_says_what_it_may_mean(client, clinic, manager, staff):
    refill = flagged_refill(clinic)
    client.force_login(manager)
    [banner] = banners(client, refill.pump.patient)
    assert banner.startswith("Refill of Sun 22 Mar 2026 awaiting review: discrepancy +4 mL, more left than expected.")
    assert "Withdrawal risk" in banner
    assert banner.endswith(f"Review /review/#refill-{refill.pk}")
    client.force_login(staff)
    [banner] = banners(client, refill.pump.patient)
    assert "A pump manager reviews it" in banner and banner.endswith(f"See the review /review/#refill-{refill.pk}")


def test_an_over_delivery_awaiting_review_has_its_own_words(client, clinic, manager):
    refill = flagged_refill(clinic, removed="10")
    client.force_login(manager)
    [banner] = banners(client, refill.pump.patient)
    assert "discrepancy -4 mL, less left than expected" in banner and "overdose" in banner


def test_no_banner_for_a_pump_that_is_fine(client, clinic, manager):
    due_soon = pump_with_status(clinic, schedule.DUE_SOON)
    fine = pump_with_status(clinic, schedule.OK)
    client.force_login(manager)
    assert banners(client, due_soon.patient) == [] and banners(client, fine.patient) == []


def test_the_review_link_lands_on_the_refill_row(client, clinic, manager):
    refill = flagged_refill(clinic)
    client.force_login(manager)
    assert f'<tr id="refill-{refill.pk}"' in client.get("/review/").content.decode()
