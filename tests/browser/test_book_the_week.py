"""Staff book the week's due-soon pumps in one pass (issue 15): open Book the week, see a
proposed slot per pump, leave one out, change one, review, confirm; every booking lands.
Also the sessions and absences pages at 1366 and 390 px, axe clean, no sideways scroll."""

import re
from datetime import date, time, timedelta

import pytest
from django.utils import dateformat

from clinic.models import Membership
from refills.models import Appointment
from scheduling.book_week import week_start
from scheduling.models import Absence, RefillSession
from tests.browser.conftest import login, screenshot, serious_violations
from tests.factories import PatientFactory, PumpFactory, RefillFactory

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
NAMES = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"), ("Mary", "Somerville"), ("Emmy", "Noether")]


def pump_due(clinic, due: date, manager, mrn: str, names):
    patient = PatientFactory(clinic=clinic, manager=manager, mrn=mrn, first_name=names[0], last_name=names[1])
    pump = PumpFactory(patient=patient, implant_date=due - timedelta(days=200))
    RefillFactory(pump=pump, performed_on=due - timedelta(days=83), is_initial_fill=True)  # 20 mL at 0.2 mL/day
    pump.refresh_from_db()
    assert pump.refill_due == due
    return pump


def check_page(page, name: str) -> None:
    """Screenshots at both widths, axe clean, no sideways scroll on a phone."""
    for size, suffix in ((WIDE, "1366"), (PHONE, "390")):
        page.set_viewport_size(size)
        page.reload()
        screenshot(page, f"{name}-{suffix}")
        assert not serious_violations(page), serious_violations(page)
        if suffix == "390":
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size(WIDE)


def test_staff_book_the_weeks_due_soon_pumps_in_one_pass(page, clinic, admin_user, manager, staff):
    today = clinic.today()
    monday = week_start(today) + timedelta(days=7)
    member = Membership.objects.get(clinic=clinic, user=manager)
    for weekday in range(5):
        RefillSession.objects.create(clinic=clinic, member=member, weekday=weekday, start_time=time(9), slots=3)
    RefillSession.objects.create(clinic=clinic, member=None, weekday=4, start_time=time(14), slots=4, slot_minutes=45)
    Absence.objects.create(
        clinic=clinic,
        member=member,
        first_day=monday + timedelta(days=3),
        last_day=monday + timedelta(days=3),
        note="Course",
    )
    pumps = [pump_due(clinic, monday + timedelta(days=n), manager, f"WEEK{n}", NAMES[n]) for n in range(5)]

    login(page, "sam-staff")
    page.get_by_role("navigation", name="Main").get_by_text("Planning", exact=True).click()  # open its menu
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Book the week").click()
    page.wait_for_url(re.compile(r"/book-the-week/$"))
    heading = f"Book the week of {dateformat.format(monday, 'D j M Y')}"
    assert page.get_by_role("heading", level=1).inner_text() == heading
    table = page.get_by_role("table", name=re.compile("due by"))
    assert table.get_by_role("row").count() == 1 + 5
    # Each pump has its slot: on its due day with the manager, except Thursday (the manager is
    # away: the Wednesday before, after Wednesday's own pump).
    thursday = monday + timedelta(days=3)
    assert page.get_by_label("Date for WEEK3").input_value() == (thursday - timedelta(days=1)).isoformat()
    assert page.get_by_label("Time for WEEK3").input_value() == "09:30"
    assert page.get_by_label("Date for WEEK0").input_value() == monday.isoformat()
    check_page(page, "book-the-week")

    page.get_by_label("Book WEEK1").uncheck()  # left out: the patient will call back
    page.get_by_label("Time for WEEK4").fill("14:45")
    page.get_by_role("button", name="Review bookings").click()
    assert page.get_by_role("heading", name="Review: 4 refills to book").is_visible()
    assert "Not booked" in page.get_by_role("row").filter(has_text="WEEK1").inner_text()
    screenshot(page, "book-the-week-review-1366")
    assert not serious_violations(page)
    page.get_by_role("button", name="Confirm 4 bookings").click()

    page.wait_for_url(re.compile(r"/book-the-week/\?week="))
    assert "4 refills booked: " in page.locator(".messages").inner_text()
    assert "WEEK1" in page.get_by_role("table").inner_text()  # still to book: the only row left
    booked = {a.pump_id: a for a in Appointment.objects.filter(created_by=staff)}
    assert set(booked) == {pumps[n].pk for n in (0, 2, 3, 4)}
    assert (booked[pumps[4].pk].local_date, booked[pumps[4].pk].local_time) == (
        monday + timedelta(days=4),
        time(14, 45),
    )
    assert booked[pumps[0].pk].assigned_to == manager

    # One left to book: its own page proposes the manager's free slot; booking it on the
    # manager's day away asks first, naming the absence.
    page.goto(f"/patients/{pumps[1].patient_id}/")
    page.get_by_role("link", name="Book appointment").click()
    tuesday = monday + timedelta(days=1)
    assert page.get_by_label("Date").input_value() == tuesday.isoformat()
    assert page.get_by_label("Time").input_value() == "09:00"
    assert f"Proposed: {dateformat.format(tuesday, 'D j M Y')} at 09:00" in page.locator("main").inner_text()
    check_page(page, "booking-proposal")
    page.get_by_label("Date").fill(thursday.isoformat())
    page.get_by_role("button", name="Book appointment").click()
    away = f"is away on {dateformat.format(thursday, 'D j M Y')}"
    assert away in page.locator("main").inner_text()
    screenshot(page, "booking-absent-member-tick-1366")
    assert not serious_violations(page)
    page.get_by_label(re.compile(f"{away}: book it anyway")).check()
    page.get_by_role("button", name="Book appointment").click()
    page.wait_for_url(re.compile(rf"/patients/{pumps[1].patient_id}/$"))
    assert Appointment.objects.get(pump=pumps[1]).local_date == thursday

    # The sessions (admins) and absences pages, at both widths.
    page.get_by_role("navigation", name="Main").get_by_text("Planning", exact=True).click()  # open its menu
    page.get_by_role("link", name="Absences").first.click()
    page.wait_for_url(re.compile(r"/clinic/absences/$"))
    assert "Course" in page.get_by_role("table").inner_text()
    check_page(page, "absences")
    page.get_by_role("link", name="Record an absence").click()
    page.get_by_label("First day").fill((monday + timedelta(days=14)).isoformat())
    page.get_by_label("Last day").fill((monday + timedelta(days=13)).isoformat())
    page.get_by_role("button", name="Save absence").click()
    assert "The last day is before the first day" in page.locator("main").inner_text()
    screenshot(page, "absence-form-error-1366")
    assert not serious_violations(page)
    page.get_by_label("Last day").fill((monday + timedelta(days=18)).isoformat())
    page.get_by_role("button", name="Save absence").click()
    page.wait_for_url(re.compile(r"/clinic/absences/$"))
    assert Absence.objects.filter(member__user=staff).count() == 1

    page.context.clear_cookies()
    login(page, "alice-admin")
    page.get_by_role("navigation", name="Main").get_by_text("Planning", exact=True).click()  # open its menu
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions").click()
    page.wait_for_url(re.compile(r"/clinic/sessions/$"))
    assert "19 refill slots a week" in page.get_by_role("table").inner_text()
    check_page(page, "sessions")
    page.get_by_role("link", name="Add a session").click()
    page.get_by_label("Weekday").select_option(label="Saturday")
    page.get_by_label("Start time").fill("09:00")
    page.get_by_role("button", name="Save session").click()
    assert "does not work on Saturdays" in page.locator("main").inner_text()
    screenshot(page, "session-form-error-1366")
    assert not serious_violations(page)
