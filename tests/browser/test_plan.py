"""A manager sees the plan's crunch week (chart and table, in words), the booked refill that
falls in a member's absence, and the monthly report; both pages at 1366 and 390 px, axe clean."""

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import dateformat

from clinic.models import Membership
from scheduling.models import Absence, RefillSession
from tests.browser.conftest import login, screenshot, serious_violations
from tests.dashboard_data import book_refill
from tests.factories import PatientFactory, PumpFactory, RefillFactory
from worklist.models import Item

pytestmark = pytest.mark.browser
WIDTHS = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}


def pump_due(clinic, due, **patient_fields):
    pump = PumpFactory(patient=PatientFactory(clinic=clinic, **patient_fields))
    RefillFactory(pump=pump, performed_on=due - timedelta(days=83), is_initial_fill=True)
    pump.refresh_from_db()
    return pump


def test_a_manager_sees_the_crunch_week_and_the_report(page, clinic, manager, staff):
    today = clinic.today()
    monday = today - timedelta(days=today.weekday())
    crunch_monday = monday + timedelta(weeks=2)
    manager_member = Membership.objects.get(clinic=clinic, user=manager)
    # Two sessions a week: the clinic's Monday (3 slots) and the manager's Thursday (2 slots).
    RefillSession.objects.create(clinic=clinic, weekday=0, start_time=time(9, 0), slots=3, slot_minutes=30)
    RefillSession.objects.create(
        clinic=clinic, member=manager_member, weekday=3, start_time=time(13, 0), slots=2, slot_minutes=30
    )
    # Week 2: eight pumps due, five slots: the crunch. A few due in other weeks.
    for n in range(8):
        pump_due(clinic, crunch_monday + timedelta(days=n % 5), mrn=f"CR{n}")
    for n in range(3):
        pump_due(clinic, monday + timedelta(weeks=4 + n, days=2), mrn=f"OK{n}")
    # The manager is away the Thursday of week 3, where a refill is booked with them.
    away_day = monday + timedelta(weeks=3, days=3)
    booked = pump_due(clinic, away_day + timedelta(days=2), mrn="AWAY1", last_name="Absent")
    appointment = book_refill(booked, away_day)
    appointment.assigned_to = manager
    appointment.save()
    Absence.objects.create(clinic=clinic, member=manager_member, first_day=away_day, last_day=away_day)
    # This month: a refill on its due and a worklist item claimed after 50 minutes and resolved
    # (all on this month's dates, whatever day of the month the test runs).
    done_day = today - timedelta(days=min(3, today.day - 1))
    done = pump_due(clinic, done_day, mrn="DONE1")
    RefillFactory(pump=done, performed_on=done_day, volume_removed_ml=Decimal("3"))
    opened = datetime.combine(today, time(0, 5), tzinfo=clinic.zone)
    Item.objects.create(
        clinic=clinic,
        pump=done,
        kind=Item.Kind.REFILL,
        cycle_date=done.refill_due,
        opened_at=opened,
        open_since=opened,
        state=Item.State.RESOLVED,
        first_claimed_by=staff,
        first_claimed_at=opened + timedelta(minutes=50),
        resolved_by=staff,
        resolved_at=opened + timedelta(hours=2),
    )

    login(page, "mark-manager")
    page.get_by_role("navigation", name="Main").get_by_text("Planning", exact=True).click()  # open its menu
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Plan").click()
    page.wait_for_url(re.compile(r"/plan/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Refill plan"
    assert "1 crunch week:" in page.locator(".plan-alert").inner_text()
    crunch_row = page.locator("table.plan-table tbody tr.is-crunch")
    assert crunch_row.count() == 1
    text = crunch_row.inner_text()
    assert dateformat.format(crunch_monday, "D j M Y") in text
    assert "Crunch" in text
    # Due 8, booked 0, capacity 5, due and not booked 8.
    assert [cell.inner_text() for cell in crunch_row.locator("td").all()] == ["8", "0", "5", "8"]
    # The chart marks the same week in words.
    assert page.locator("svg#plan-chart text.crunch-label").count() == 1
    absences = page.locator("section[aria-labelledby=absence-heading]")
    assert "AWAY1" in absences.inner_text() and dateformat.format(away_day, "D j M Y") in absences.inner_text()
    assert serious_violations(page) == []
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        screenshot(page, f"plan-{width}")
        assert serious_violations(page) == []

    # The move link opens the appointment's form.
    page.set_viewport_size(WIDTHS["1366"])
    absences.get_by_role("link", name="Move the refill of AWAY1").click()
    page.wait_for_url(re.compile(rf"/appointments/{appointment.pk}/edit/\?propose=1$"))  # a new proposal

    page.get_by_role("navigation", name="Main").get_by_text("Reports", exact=True).click()  # open its menu
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Monthly report").click()
    page.wait_for_url(re.compile(r"/reports/monthly/$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Monthly report: ")
    assert "100%" in page.locator("section[aria-labelledby=refills-heading]").inner_text()
    members = page.locator("section[aria-labelledby=members-heading]").inner_text()
    assert "50 min" in members
    assert serious_violations(page) == []
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        screenshot(page, f"report-{width}")
        assert serious_violations(page) == []
