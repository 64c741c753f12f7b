"""Staff cancel an appointment only after a confirmation page (issue 12 item 6), and a
booking on a day the clinic does not work asks first (item 13). No JavaScript involved:
every step is a link or a form post."""

import re
from datetime import date, time, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import dateformat

from refills import schedule, services
from refills.booking import proposed_booking_date
from refills.models import Appointment
from tests.browser.conftest import login, screenshot
from tests.dashboard_data import pump_with_status

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def next_weekday(day, weekday: int):
    return day + timedelta(days=(weekday - day.weekday()) % 7 or 7)


def test_staff_keep_then_cancel_an_appointment_and_confirm_a_saturday_booking(page, clinic, staff):
    today = clinic.today()
    pump = pump_with_status(clinic, schedule.OK, today=today, mrn="CANC1", first_name="Ada", last_name="Lovelace")
    monday = next_weekday(today, 0)
    appointment = services.book_appointment(
        Appointment(
            patient=pump.patient, pump=pump, kind="refill", local_date=monday, local_time=time(10, 0), created_by=staff
        )
    )
    shown = dateformat.format(monday, "D j M Y")

    login(page, "sam-staff")
    for size, suffix in ((WIDE, "1366"), (PHONE, "390")):
        page.set_viewport_size(size)
        page.goto("/appointments/")
        screenshot(page, f"appointment-list-{suffix}")
    page.set_viewport_size(WIDE)
    page.goto(f"/patients/{pump.patient_id}/")
    upcoming = page.locator("section[aria-labelledby=h-upcoming]")
    upcoming.get_by_role("link", name=re.compile("^Reschedule")).click()
    page.wait_for_url(re.compile(rf"/appointments/{appointment.pk}/edit/$"))
    # Going back and cancelling never share a word.
    assert page.get_by_role("link", name="Back", exact=True).count() == 1
    assert page.get_by_role("button", name=re.compile("Cancel")).count() == 0
    screenshot(page, "appointment-reschedule-1366")
    page.get_by_role("link", name="Cancel appointment").click()

    # The confirmation page: it says what will happen, and nothing has happened yet.
    page.wait_for_url(re.compile(rf"/appointments/{appointment.pk}/cancel/\?back="))
    assert page.get_by_role("heading", level=1).inner_text() == "Cancel appointment"
    question = f"Cancel the refill appointment of Ada Lovelace (MRN CANC1) on {shown} at 10:00?"
    assert question in page.locator("main").inner_text()
    assert "This cannot be undone" in page.locator("main").inner_text()
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"
    violations = [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
    assert not violations, violations
    screenshot(page, "appointment-cancel-confirm-1366")
    page.set_viewport_size(PHONE)
    screenshot(page, "appointment-cancel-confirm-390")
    keep = page.get_by_role("link", name="Keep the appointment")
    yes = page.get_by_role("button", name="Yes, cancel the appointment")
    assert keep.is_visible() and yes.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll on a phone
    page.set_viewport_size(WIDE)

    # Keep: back on the appointment, unchanged.
    keep.click()
    page.wait_for_url(re.compile(rf"/appointments/{appointment.pk}/edit/$"))
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"

    # Now cancel for real.
    page.get_by_role("link", name="Cancel appointment").click()
    page.get_by_role("button", name="Yes, cancel the appointment").click()
    page.wait_for_url(re.compile(rf"/patients/{pump.patient_id}/$"))
    assert f"The refill appointment of {shown} is cancelled." in page.locator(".messages").inner_text()
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert "Cancel appointment" not in page.locator("section[aria-labelledby=h-upcoming]").inner_text()

    # Booking on a Saturday asks first.
    page.get_by_role("navigation", name="Patient actions").get_by_role("link", name="Book appointment").click()
    page.wait_for_url(re.compile(rf"/patients/{pump.patient_id}/appointments/new/"))
    proposed = page.get_by_label("Date", exact=True).input_value()
    # The latest working day on or before refill due (a Friday when refill due is a weekend day).
    assert date.fromisoformat(proposed) == proposed_booking_date(pump.refill_due, today, clinic.working_days)
    assert date.fromisoformat(proposed).weekday() < 5
    saturday = next_weekday(today, 5)
    page.get_by_label("Date", exact=True).fill(saturday.isoformat())
    page.get_by_role("button", name="Book appointment").click()
    saturday_shown = dateformat.format(saturday, "D j M Y")
    field = page.locator(".field.has-error")
    assert f"The date, {saturday_shown}, is not a working day of the clinic (Monday to Friday)." in field.inner_text()
    assert not Appointment.objects.filter(patient=pump.patient, status="scheduled").exists()
    screenshot(page, "appointment-saturday-confirm-1366")
    page.set_viewport_size(PHONE)
    screenshot(page, "appointment-saturday-confirm-390")
    page.set_viewport_size(WIDE)
    page.get_by_label(f"{saturday_shown} is not a working day of the clinic: book it anyway").check()
    page.get_by_role("button", name="Book appointment").click()
    page.wait_for_url(re.compile(rf"/patients/{pump.patient_id}/$"))
    booked = Appointment.objects.get(patient=pump.patient, status="scheduled")
    assert booked.local_date == saturday
