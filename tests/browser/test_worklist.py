"""Staff work the worklist: Today shows the escalated item and the standing check, staff claim an
overdue item in one click and log a "no answer" call; screenshots at 1366 and 390 px, axe clean."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from refills import schedule
from tests.browser.conftest import login, screenshot, serious_violations
from tests.dashboard_data import pump_with_status
from worklist import sync
from worklist.models import ContactAttempt, Item

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def shoot_both(page, name: str) -> None:
    """Screenshots at 1366 and 390 px, each axe-clean."""
    for size, suffix in ((WIDE, "1366"), (PHONE, "390")):
        page.set_viewport_size(size)
        assert serious_violations(page) == [], (name, suffix)
        screenshot(page, f"worklist-{name}-{suffix}")
    page.set_viewport_size(WIDE)


def test_staff_claims_an_overdue_item_and_logs_a_no_answer_call(page, clinic, staff, admin_user):
    today = clinic.today()
    overdue = pump_with_status(clinic, schedule.OVERDUE, today=today, mrn="LATE1", phone="0100 555 0101")
    alarming = pump_with_status(clinic, schedule.ALARMING, today=today, mrn="ALARM1")
    pump_with_status(clinic, schedule.DUE_SOON, today=today, mrn="SOON1")
    now = timezone.now()
    sync.sync_clinic(clinic, now)
    # The alarming pump's item has waited unclaimed since two days ago: escalated by the next sync.
    Item.objects.filter(pump=alarming).update(open_since=now - timedelta(days=2))
    assert sync.sync_clinic(clinic, now)["escalated"] == 1

    login(page, "sam-staff")
    escalated = page.locator("section[aria-labelledby=escalated-heading]")
    assert "ALARM1" in escalated.inner_text() and "Still unclaimed" in escalated.inner_text()
    standing = page.locator("section[aria-labelledby=standing-heading]")
    assert standing.locator(".standing-count").inner_text() == "3"  # overdue, alarming, due soon: none booked
    shoot_both(page, "today")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    page.wait_for_url(re.compile(r"/worklist/$"))
    rows = page.get_by_role("table").get_by_role("row")
    assert "ALARM1" in rows.nth(1).inner_text()  # escalated first
    row = rows.filter(has_text="LATE1")
    assert "Overdue" in row.inner_text() and "Unclaimed" in row.inner_text()
    row.get_by_role("button", name="Claim LATE1").click()
    page.wait_for_url(re.compile(r"/worklist/"))
    assert "You have claimed the item of " in page.locator(".messages").inner_text()
    assert page.get_by_role("table").get_by_role("row").filter(has_text="LATE1").count() == 0  # left the open tab
    page.get_by_role("link", name=re.compile(r"^Claimed by me \(1\)")).click()
    row = page.get_by_role("table").get_by_role("row").filter(has_text="LATE1")
    assert staff.get_full_name() in row.inner_text()
    shoot_both(page, "list")

    row.get_by_role("link", name="Contact, exception for LATE1").click()
    page.wait_for_url(re.compile(r"/worklist/items/\d+/$"))
    page.get_by_label("Phone: no answer").check()
    page.get_by_label("With whom").fill("patient")
    page.get_by_role("button", name="Record contact").click()
    assert "Contact attempt recorded." in page.locator(".messages").inner_text()
    contacts = page.locator("section[aria-labelledby=contacts-heading]")
    assert "Phone: no answer" in contacts.inner_text() and "with patient" in contacts.inner_text()
    shoot_both(page, "item")

    item = Item.objects.get(pump=overdue)
    assert (item.state, item.claimed_by) == ("claimed", staff)
    contact = ContactAttempt.objects.get(item=item)
    assert (contact.method, contact.recorded_by, item.last_contact) == ("phone_no_answer", staff, contact)

    # Today now names the owner and the last contact on the action list.
    page.goto("/")
    today_row = page.locator(".danger-list li").filter(has_text="LATE1")
    assert staff.get_full_name() in today_row.inner_text()
    assert "Phone: no answer" in today_row.inner_text()
