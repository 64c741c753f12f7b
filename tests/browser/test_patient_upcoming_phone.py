"""The patient page's Upcoming appointments at a 390 px phone: each appointment is a card,
its date and time whole (not "Thu / 26 / Nov / 20 / 26"), the action buttons still there,
and nothing scrolls sideways; at 1366 px it stays a table. Photographed under
test-artifacts/screenshots/patient-upcoming-{1366,390}.png."""

from datetime import time, timedelta

import pytest
from django.utils import dateformat

from refills import schedule, services
from refills.models import Appointment
from tests.browser.conftest import login, screenshot
from tests.dashboard_data import pump_with_status

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


LINES = """(cell, text) => {
    // How many lines the words `text` take inside `cell` (1 when they are not broken).
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const at = node.textContent.indexOf(text);
        if (at < 0) continue;
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + text.length);
        return new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size;
    }
    return -1;
}"""


def lines(cell, text: str) -> int:
    return cell.evaluate(LINES, text)


def test_upcoming_appointments_stack_as_cards_with_whole_dates_on_a_phone(page, clinic, staff):
    today = clinic.today()
    later = today + timedelta(days=9)
    pump = pump_with_status(clinic, schedule.OK, today=today, mrn="UPC1", first_name="Ada", last_name="Lovelace")
    booked = ((today, time(10, 0)), (later, time(14, 30)))
    for day, at in booked:
        services.book_appointment(
            Appointment(patient=pump.patient, pump=pump, kind="refill", local_date=day, local_time=at, created_by=staff)
        )

    login(page, "sam-staff")
    upcoming = page.locator("section[aria-labelledby=h-upcoming]")
    rows = upcoming.locator("tbody tr")
    for size, suffix in ((WIDE, "1366"), (PHONE, "390")):
        page.set_viewport_size(size)
        page.goto(f"/patients/{pump.patient_id}/")
        screenshot(page, f"patient-upcoming-{suffix}")
        upcoming.screenshot(path=str(screenshot(page, f"patient-upcoming-{suffix}-section")))
        scroll = page.evaluate(
            """() => Math.max(document.documentElement.scrollWidth - window.innerWidth,
                ...[...document.querySelectorAll('.table-wrap')].map((w) => w.scrollWidth - w.clientWidth))"""
        )
        assert scroll <= 0, f"the patient page scrolls sideways by {scroll} px at {suffix} px"
        assert rows.count() == 2
        for index, (day, at) in enumerate(booked):
            row = rows.nth(index)
            date_cell, time_cell = row.locator("td").nth(0), row.locator("td").nth(1)
            # Dates and times whole: "Thu 26 Nov 2026" on one line, not "Thu / 26 / Nov / 20 / 26".
            assert lines(date_cell, dateformat.format(day, "D j M Y")) == 1, (suffix, date_cell.inner_html())
            assert lines(time_cell, at.strftime("%H:%M")) == 1, (suffix, time_cell.inner_html())
            for name in ("Reschedule", "Cancel appointment"):
                button = row.get_by_role("link", name=name)
                assert button.is_visible()
                box = button.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (suffix, name, box)
        assert rows.nth(0).get_by_role("button", name="Completed").is_visible()  # today's
        assert rows.nth(0).get_by_role("link", name="No-show").is_visible()
        assert rows.nth(1).get_by_role("button", name="Completed").count() == 0
    # On the phone each appointment is a card: no column headers, each value beside its
    # label ("Time  10:00"), not under or over it.
    assert upcoming.locator("thead").bounding_box()["height"] <= 1  # kept for screen readers only
    time_cell = rows.nth(0).locator('td[data-label="Time"]').bounding_box()
    clock = rows.nth(0).locator('td[data-label="Time"] time').bounding_box()
    assert clock["x"] - time_cell["x"] >= 100, (time_cell, clock)
