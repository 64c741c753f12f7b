"""Issue 12 items 1, 2 and 14 in a real browser: the refill form never pre-fills the
volume removed, refuses a save without it with a summary that takes the focus, asks to
confirm volumes that disagree, then saves. Screenshots of the form at 1366 and 390 px."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import dateformat

from refills import schedule
from refills.models import Refill
from tests.browser.conftest import login, screenshot, serious_violations
from tests.dashboard_data import pump_with_status

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def focused_id(page) -> str:
    """The id of the focused element, once the page's autofocus has had its turn."""
    page.wait_for_load_state("load")
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_refill_form_is_safe_to_type_into(page, clinic, manager):
    today = clinic.today()
    # Like a demo pump: 20 mL SynchroMed II refilled 87 days ago at 0.2 mL/day, overdue
    # today with 20 - 87 x 0.2 = 2.6 mL expected in the reservoir.
    pump = pump_with_status(clinic, schedule.OVERDUE, today=today, mrn="SAFE1")
    page.set_viewport_size(WIDE)
    login(page, "mark-manager")
    page.goto(f"/pumps/{pump.pk}/refill/")

    removed = page.get_by_label("Volume removed")
    assert removed.input_value() == ""  # never the projection
    assert removed.get_attribute("aria-required") == "true"
    hint = page.locator("#id_volume_removed_ml_helptext")
    assert hint.inner_text() == (
        f"Expected about 2.6 mL on {dateformat.format(today, 'D j M Y')} — measure and enter what you removed."
    )
    assert hint.is_visible()
    assert page.get_by_test_id("error-summary").count() == 0
    assert not serious_violations(page)
    screenshot(page, "refill_form-1366")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "refill_form-390")
    page.set_viewport_size(WIDE)

    # Saved without the measurement: refused, the summary says so and has the focus.
    page.get_by_role("spinbutton", name="Volume added").fill("20")
    with page.expect_navigation():
        page.get_by_role("button", name="Save refill").click()
    summary = page.get_by_test_id("error-summary")
    assert "Nothing was saved: 1 problem to fix" in summary.inner_text()
    assert focused_id(page) == "error-summary"
    link = summary.get_by_role("link", name=re.compile("Volume removed"))
    assert link.get_attribute("href") == "#id_volume_removed_ml"
    assert page.get_by_label("Volume removed").input_value() == ""
    assert not Refill.objects.filter(pump=pump, performed_on=today).exists()
    assert not serious_violations(page)
    screenshot(page, "refill_form-refused-1366")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "refill_form-refused-390")
    page.set_viewport_size(WIDE)
    link.click()
    assert page.evaluate("location.hash") == "#id_volume_removed_ml"

    # Volumes that disagree by more than 0.5 mL: asked to confirm, nothing saved yet.
    page.get_by_label("Volume removed").fill("1.1")
    page.get_by_role("spinbutton", name="Volume added").fill("17")
    page.get_by_role("spinbutton", name="Volume after refill").fill("20")
    with page.expect_navigation():
        page.get_by_role("button", name="Save refill").click()
    assert focused_id(page) == "error-summary"
    text = summary.inner_text()
    assert "The volume after refill (20 mL) differs from the volume added (17 mL) by 3 mL" in text
    box = page.get_by_label("Confirm that the volume after refill differs from the volume added by more than 0.5 mL")
    assert not box.is_checked()
    preview = page.locator("#preview")
    assert "Confirmations still needed before saving" in preview.inner_text()
    assert not Refill.objects.filter(pump=pump, performed_on=today).exists()
    screenshot(page, "refill_form-confirm-1366")

    box.check()
    page.get_by_role("button", name="Save refill").click()
    page.wait_for_url(re.compile(rf"/patients/{pump.patient_id}/$"))
    refill = Refill.objects.get(pump=pump, performed_on=today)
    assert (refill.volume_removed_ml, refill.volume_added_ml, refill.volume_after_ml) == (
        Decimal("1.1"),
        Decimal("17"),
        Decimal("20"),
    )
    # 1.1 mL found against 2.6 expected: -1.5 mL, beyond the 1 mL of a 20 mL pump.
    assert refill.residual_discrepancy_ml == Decimal("-1.5") and refill.needs_review
    pump.refresh_from_db()
    assert pump.alarm_date == today + timedelta(days=90)
