"""The outbox in a real browser: legible status counts and "retry all failed" (issue 12 item 14, issue 13).

axe-core finds no serious violation on the outbox (with failed rows) or the confirmation page.

Screenshots of the outbox and its confirmation page at 1366 and 390 px go to
test-artifacts/screenshots/outbox-<width>.png and outbox-retry-failed-<width>.png.
"""

import pytest

from reminders.models import Reminder
from tests.browser.conftest import login, screenshot, serious_violations
from tests.reminders_data import reminder_row

pytestmark = pytest.mark.browser
Status = Reminder.Status
WIDTHS = {1366: {"width": 1366, "height": 768}, 390: {"width": 390, "height": 844}}


@pytest.fixture
def outbox_rows(clinic):
    for status, count in ((Status.SENT, 12), (Status.PENDING, 3), (Status.SKIPPED, 2), (Status.FAILED, 4)):
        for _ in range(count):
            reminder_row(
                clinic,
                status=status,
                attempts=5 if status == Status.FAILED else 1,
                last_error="SMTPServerDisconnected: Connection unexpectedly closed" if status == Status.FAILED else "",
            )


def boxes_overlap(a, b) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_status_counts_are_legible_and_retry_all_asks_first(page, staff, outbox_rows, width):
    page.set_viewport_size(WIDTHS[width])
    login(page, staff.username)
    page.goto("/outbox/")
    counts = page.get_by_role("list", name="Reminders by status").get_by_role("listitem")
    assert counts.count() == 5
    boxes = []
    for index in range(5):
        item = counts.nth(index)
        # No bullet: a list marker drawn in the gap fell on the previous count's number.
        assert item.evaluate("li => getComputedStyle(li).listStyleType") == "none"
        boxes.append(item.bounding_box())
    assert not any(boxes_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert [counts.nth(i).inner_text().split()[-1] for i in range(5)] == ["3", "0", "12", "4", "2"]
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    if width == 1366:  # the table fits a laptop (on a phone it scrolls inside its frame)
        assert page.locator(".table-wrap").evaluate("w => w.scrollWidth - w.clientWidth") <= 0
    assert serious_violations(page) == []
    screenshot(page, f"outbox-{width}")

    page.get_by_role("button", name="Retry all 4 failed…").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Retry all failed reminders"
    assert "Send 4 failed reminders again?" in page.content()
    assert Reminder.objects.failed().count() == 4  # asked, nothing sent yet
    assert serious_violations(page) == []
    screenshot(page, f"outbox-retry-failed-{width}")
    page.get_by_role("button", name="Send 4 again").click()
    page.wait_for_url("**/outbox/")
    assert "4 failed reminders will be sent again." in page.content()
    assert Reminder.objects.failed().count() == 0
