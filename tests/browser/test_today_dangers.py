"""On the demo clinic, a manager and a staff member see every dangerous patient by name on
Today with the right next action, "Add patient" is one click away, and Today and the
patient page work at 390 px without sideways scrolling (issue 12 items 4, 5 and 11)."""

import re

import pytest

from demo import seeder as demo
from patients.models import Pump
from refills import dangers, schedule
from refills.models import Refill
from tests.browser.conftest import SCREENSHOTS, login, screenshot

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def dangerous_patients(clinic):
    """MRN -> (kind, "Last, First") of every item Today must name, computed from the data."""
    today = clinic.today()
    found = {}
    pumps = Pump.objects.active().filter(clinic=clinic).with_status(today).select_related("patient")
    for pump in pumps:
        if pump.status_now in (schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE):
            kind = pump.status_now
        elif pump.booking == schedule.BOOKED_LATE:
            kind = dangers.BOOKED_LATE
        else:
            continue
        found[pump.patient.mrn] = (kind, f"{pump.patient.last_name}, {pump.patient.first_name}")
    flagged = Refill.objects.filter(pump__clinic=clinic, needs_review=True, residual_discrepancy_ml__gt=0)
    for refill in flagged.select_related("pump__patient"):
        patient = refill.pump.patient
        found.setdefault(patient.mrn, (dangers.UNDER_DELIVERY, f"{patient.last_name}, {patient.first_name}"))
    return found


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def danger_rows(page):
    return page.get_by_role("region", name=re.compile("Needs action today")).get_by_role("listitem")


def check_every_danger_is_named(page, expected: dict, *, refill_action: str) -> None:
    rows = danger_rows(page)
    assert rows.count() == len(expected)
    texts = rows.all_inner_texts()
    for mrn, (kind, name) in expected.items():
        [row] = [text for text in texts if mrn in text]
        assert name in row, (mrn, row)
        assert dangers.KIND_LABELS[kind].lower() in row.lower(), (mrn, row)
        if kind in (schedule.EMPTY, schedule.ALARMING):
            # Staff book, or book earlier when a refill is already booked late ("; booked <date>").
            assert refill_action in row or (refill_action == "Book refill" and "Book earlier" in row), (mrn, row)


def test_a_manager_and_staff_see_the_dangerous_patients_on_today(page):
    clinic, _plan, _today = demo.create_demo()
    expected = dangerous_patients(clinic)
    kinds = {kind for kind, _name in expected.values()}
    # The demo has every danger, so this test covers each one.
    assert {schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE, dangers.UNDER_DELIVERY} <= kinds
    page.set_viewport_size(WIDE)

    login(page, "demo-manager", demo.PASSWORD)
    check_every_danger_is_named(page, expected, refill_action="Record refill")
    # The list comes before the counts.
    html = page.content()
    assert html.index("Needs action today") < html.index("Refills awaiting review")
    assert page.locator(".count-card.tone-empty .count-flag").first.inner_text().strip().lower() == "danger"
    screenshot(page, "today-1366")

    page.set_viewport_size(PHONE)
    page.reload()
    assert no_sideways_scroll(page)
    for row in danger_rows(page).all():
        action = row.locator(".danger-action a")
        box = action.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], row.inner_text()
    screenshot(page, "today-390")
    page.screenshot(path=str(SCREENSHOTS / "today-390-first-screen.png"))  # what a phone shows first

    # The empty pump's patient page: the banner says what to do, with the action.
    page.set_viewport_size(WIDE)
    empty_mrn = next(mrn for mrn, (kind, _name) in expected.items() if kind == schedule.EMPTY)
    danger_rows(page).filter(has_text=empty_mrn).get_by_role("link", name=empty_mrn, exact=True).click()
    page.wait_for_url(re.compile(r"/patients/\d+/$"))
    banner = page.locator(".danger-banner").first
    assert "Pump projected EMPTY since" in banner.inner_text()
    assert "Withdrawal risk" in banner.inner_text()
    assert banner.get_by_role("link", name="Record refill").is_visible()
    screenshot(page, "patient-1366")
    page.set_viewport_size(PHONE)
    page.reload()
    assert no_sideways_scroll(page)
    box = page.locator(".danger-banner").first.get_by_role("link", name="Record refill").bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"] and box["y"] < PHONE["height"]
    screenshot(page, "patient-390")
    page.screenshot(path=str(SCREENSHOTS / "patient-390-first-screen.png"))

    # "Add patient" is one click from Today.
    page.set_viewport_size(WIDE)
    page.goto("/")
    page.get_by_role("link", name="Add patient").first.click()
    page.wait_for_url(re.compile(r"/patients/new/$"))

    # Staff see the same patients, and book (they cannot record refills).
    page.context.clear_cookies()
    login(page, "demo-staff", demo.PASSWORD)
    check_every_danger_is_named(page, expected, refill_action="Book refill")
    assert not any("Record refill" in text for text in danger_rows(page).all_inner_texts())
    assert page.get_by_role("link", name="Add patient").count() == 0
    screenshot(page, "today-staff-1366")
