"""Layout at a 1366 px laptop and a 390 px phone (issue 12 item 11), with screenshots.

A manager of the seeded demo clinic, with some very long patient and member names and a
pump of every status (one never filled), opens Today, the caseload, the overdue worklist,
the patient page and the refill form at both widths. Each page is photographed full-page
under test-artifacts/screenshots/<page>-<width>.png. The lists must not scroll sideways at
1366 px; Today, the worklist and the patient page must not at 390 px, with their primary
action on screen.
"""

import pytest
from django.contrib.auth import get_user_model

from demo import seeder as demo
from patients.models import Patient, Pump
from refills import schedule
from tests.browser.conftest import SCREENSHOTS, login, screenshot
from tests.factories import PatientFactory, PumpFactory

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
LONG_FIRST = "Maximiliana-Josephine"
LONG_LAST = "Featherstonehaugh-Vandersteenhoven"


@pytest.fixture
def seeded_clinic(db):
    """The demo clinic with long names, a high-risk patient in every danger state and a pump never filled."""
    clinic, _plan, today = demo.create_demo()
    pumps = Pump.objects.active().filter(clinic=clinic).with_status(today).select_related("patient")
    for status in (schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE):
        pump = pumps.filter(status_now=status).order_by("patient__mrn").first()
        Patient.objects.filter(pk=pump.patient_id).update(
            first_name=LONG_FIRST, last_name=LONG_LAST, previous_withdrawal=True
        )
    manager = get_user_model().objects.get(username=demo.MANAGER)
    manager.last_name = "Manager-Wolfeschlegelstein (demo)"
    manager.save()
    never_filled = PumpFactory(patient=PatientFactory(clinic=clinic, mrn="DEMO-NOFILL", manager=manager))
    statuses = set(Pump.objects.active().filter(clinic=clinic).with_status(today).values_list("status_now", flat=True))
    assert statuses >= {*demo.STATUSES, schedule.NO_FILL}, statuses
    # The patient page and refill form of an overdue pump with a history (chart, timeline).
    overdue = next(
        p for p in pumps.filter(status_now=schedule.OVERDUE).order_by("patient__mrn") if p.refills.count() > 1
    )
    return clinic, overdue, never_filled


def sideways_scroll(page) -> int:
    """How far the page, or a list inside its scrolling wrapper, scrolls sideways (0 when it fits)."""
    return page.evaluate(
        """() => Math.max(document.documentElement.scrollWidth - window.innerWidth,
            ...[...document.querySelectorAll('.table-wrap')].map((w) => w.scrollWidth - w.clientWidth))"""
    )


def wide_tables(page) -> list[str]:
    """The tables wider than their wrapper (class and first header), to say what to fix."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.table-wrap')].filter((w) => w.scrollWidth > w.clientWidth)
            .map((w) => { const t = w.querySelector('table'); const th = t && t.querySelector('th');
                return `${t && t.className}: ${th && th.textContent.trim()} (+${w.scrollWidth - w.clientWidth}px)`; })"""
    )


def visible_in_width(page, locator, width: int) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


def test_pages_fit_a_laptop_and_a_phone(page, seeded_clinic):
    _clinic, pump, _never_filled = seeded_clinic
    login(page, demo.MANAGER, demo.PASSWORD)
    pages = [
        ("today", "/"),
        ("caseload", "/caseload/"),
        ("overdue", "/overdue/"),
        ("replacements", "/replacements/"),
        ("patient", f"/patients/{pump.patient_id}/"),
        ("refill-form", f"/pumps/{pump.pk}/refill/"),
    ]
    must_fit = {
        LAPTOP["width"]: {"caseload", "overdue", "replacements"},
        PHONE["width"]: {"today", "overdue", "patient", "replacements"},
    }
    overflow, off_screen = {}, []
    for viewport in (LAPTOP, PHONE):
        page.set_viewport_size(viewport)
        width = viewport["width"]
        for name, url in pages:
            response = page.goto(url)
            assert response.status == 200, f"{name}: {url} answered {response.status}"
            screenshot(page, f"{name}-{width}")
            if width == PHONE["width"]:  # the first screen, as a phone shows it
                page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}-first-screen.png"))
            scroll = sideways_scroll(page)
            if name in must_fit[width] and scroll > 0:
                overflow[f"{name} at {width} px"] = (scroll, wide_tables(page))
            primary = {"overdue": "Book refill", "patient": "Record refill"}.get(name)
            if primary and not visible_in_width(page, page.get_by_role("link", name=primary).first, width):
                off_screen.append(f"{name} at {width} px: {primary}")
    assert not overflow, f"pages scroll sideways (px): {overflow}"
    assert not off_screen, f"primary actions off screen: {off_screen}"


def test_lists_show_the_long_names_whole(page, seeded_clinic):
    """The patient cell wraps a long name rather than clipping it, and the risk mark is on screen."""
    login(page, demo.MANAGER, demo.PASSWORD)
    page.set_viewport_size(LAPTOP)
    page.goto("/caseload/")
    cell = page.locator("tbody th", has_text=LONG_LAST).first
    assert LONG_FIRST in cell.inner_text()
    risk = cell.locator(".badge-risk")
    assert risk.is_visible() and visible_in_width(page, risk, LAPTOP["width"])
    # The pump model by name, on one line per part; no model code on the page.
    assert "SynchroMed II" in page.locator("tbody").inner_text()
    assert "synchromed-ii" not in page.locator("tbody").inner_text()


def test_forms_and_error_pages_look_like_the_rest(page, seeded_clinic):
    """The add-patient form reads like the other forms (labels above their fields, bold), and
    the error pages carry the navigation; photographed at both widths."""
    _clinic, pump, _never_filled = seeded_clinic
    login(page, demo.MANAGER, demo.PASSWORD)
    for viewport in (LAPTOP, PHONE):
        page.set_viewport_size(viewport)
        width = viewport["width"]
        for name, url in (
            ("add-patient", "/patients/new/"),
            ("edit-patient", f"/patients/{pump.patient_id}/edit/"),
            ("error-404", "/patients/999999/"),
            ("error-403", "/clinic/members/"),
        ):
            page.goto(url)
            screenshot(page, f"{name}-{width}")
            assert sideways_scroll(page) <= 0, f"{name} at {width} px scrolls sideways"
            if name.startswith("error"):
                assert page.get_by_role("navigation", name="Main").is_visible()
    page.set_viewport_size(LAPTOP)
    looks = """(id) => { const label = document.querySelector(`label[for="${id}"]`);
        const s = getComputedStyle(label); return [s.display, s.fontWeight]; }"""
    page.goto(f"/patients/{pump.patient_id}/edit/")
    edit_label = page.evaluate(looks, "id_last_name")
    page.goto("/patients/new/")
    for field in ("id_patient-last_name", "id_pump-serial_number", "id_fill-volume_after_ml"):
        if page.locator(f"#{field}").count():
            assert page.evaluate(looks, field) == edit_label, field
