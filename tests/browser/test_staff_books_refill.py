"""Staff work the overdue worklist: log in, open the list, book a refill in one click."""

import re

import pytest
from django.utils import dateformat

from refills import schedule
from refills.models import Appointment
from scheduling.week import first_booking_day
from tests.browser.conftest import login, screenshot
from tests.dashboard_data import pump_with_status

pytestmark = pytest.mark.browser


def test_staff_books_a_refill_from_the_overdue_worklist(page, clinic, staff):
    today = clinic.today()
    overdue = pump_with_status(clinic, schedule.OVERDUE, today=today, mrn="LATE1", phone="0100 555 0101")
    pump_with_status(clinic, schedule.OK, today=today, mrn="FINE1")
    # What the overdue list and the form propose: never a time already past today (09:00 without sessions).
    booking_day = first_booking_day(clinic, today)

    login(page, "sam-staff")
    page.get_by_role("navigation", name="Main").get_by_text("Lists", exact=True).click()  # open its menu
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overdue").click()
    page.wait_for_url(re.compile(r"/overdue/$"))
    worklist = page.get_by_role("table", name=re.compile("Overdue worklist"))
    row = worklist.get_by_role("row").filter(has_text="LATE1")
    assert row.count() == 1
    assert "Overdue" in row.inner_text()
    assert "Not booked" in row.inner_text()
    assert "0100 555 0101" in row.inner_text()
    assert worklist.get_by_role("row").filter(has_text="FINE1").count() == 0  # an OK pump is not on the list
    screenshot(page, "scenario-staff-1-overdue-before")

    row.get_by_role("link", name="Book refill for LATE1").click()
    page.wait_for_url(re.compile(rf"/patients/{overdue.patient_id}/appointments/new/"))
    assert page.get_by_role("heading", level=1).inner_text() == "Book an appointment"
    # The one click proposes a refill on the clinic's first working day from today.
    assert page.get_by_label("Kind").input_value() == "refill"
    assert "Not booked" in page.locator("section[aria-labelledby=patient-heading]").inner_text()
    assert page.get_by_label("Date").input_value() == booking_day.isoformat()
    page.get_by_label("Time").fill("10:30")
    screenshot(page, "scenario-staff-2-booking-form")
    page.get_by_role("button", name="Book appointment").click()

    page.wait_for_url(re.compile(rf"/patients/{overdue.patient_id}/$"))
    messages = page.locator(".messages")
    assert (
        f"Refill appointment booked for {dateformat.format(booking_day, 'D j M Y')} at 10:30." in messages.inner_text()
    )
    # The pump was already past refill due, so the booking counts as late, and says so.
    assert "booked late" in messages.inner_text()
    schedule_card = page.locator("section[aria-labelledby=h-schedule]")
    assert "Booked late" in schedule_card.inner_text()
    assert f"{dateformat.format(booking_day, 'D j M Y')} 10:30 (refill)" in schedule_card.inner_text()
    screenshot(page, "scenario-staff-3-patient-after-booking")

    appointment = Appointment.objects.get(patient=overdue.patient)
    assert (appointment.kind, appointment.status, appointment.local_date) == ("refill", "scheduled", booking_day)
    assert appointment.pump_id == overdue.pk
    assert appointment.created_by == staff

    # Back on the worklist the pump is still overdue but no longer unbooked.
    page.get_by_role("navigation", name="Main").get_by_text("Lists", exact=True).click()  # open its menu
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overdue").click()
    row = page.get_by_role("row").filter(has_text="LATE1")
    assert "Booked late" in row.inner_text()
    assert "Not booked" not in row.inner_text()
    assert dateformat.format(booking_day, "D j M Y") in row.inner_text()  # SPEC 8 dates on pages
