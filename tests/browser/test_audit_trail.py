"""The audit trail as a clinician sees it (issue 12 item 9), at 1366 px and 390 px.

On the seeded demo clinic a manager opens a patient page with a long fill history, its
full history and (as the admin) the clinic's audit trail. The patient page shows the
latest five entries in words, its audit section stays short (it was most of a 6,400 px
page) and no page scrolls sideways. Screenshots: test-artifacts/screenshots/audit-*.png.
"""

import pytest

from demo import seeder as demo
from patients.models import Pump
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser

WIDTHS = {"1366": {"width": 1366, "height": 768}, "390": {"width": 390, "height": 844}}
RAW = [".None", "True", "False", "id:", "synchromed-ii-20"]


@pytest.fixture
def busy_patient(db):
    """The demo patient with the most fills (the longest trail)."""
    clinic, _plan, _today = demo.create_demo()
    pump = max(Pump.objects.filter(clinic=clinic).select_related("patient"), key=lambda p: p.refills.count())
    return pump.patient


@pytest.mark.parametrize("width", WIDTHS)
def test_audit_trail_reads_in_words_and_stays_short(page, busy_patient, width):
    page.set_viewport_size(WIDTHS[width])
    login(page, demo.MANAGER, demo.PASSWORD)

    page.goto(f"/patients/{busy_patient.pk}/")
    section = page.locator("section:has(#h-audit)")
    rows = section.locator("tbody tr")
    assert rows.count() == 5
    text = section.inner_text()
    for raw in RAW:
        assert raw not in text, raw
    assert "SynchroMed" in text or "Prometra" in text, "the pump by its model's name"
    assert "Morgan Manager (demo)" in text, "fills attributed to who performed them"
    assert section.bounding_box()["height"] < (2200 if width == "390" else 1100)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    section.scroll_into_view_if_needed()
    page.screenshot(
        path=str(screenshot(page, f"audit-patient-{width}").with_name(f"audit-patient-section-{width}.png"))
    )

    section.get_by_role("link", name="Full history").click()
    page.wait_for_url(f"**/patients/{busy_patient.pk}/history/")
    assert page.locator("table.audit tbody tr").count() > 5
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    screenshot(page, f"audit-history-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_clinic_audit_page_names_patients_and_fits(page, busy_patient, width):
    page.set_viewport_size(WIDTHS[width])
    login(page, demo.ADMIN, demo.PASSWORD)
    page.goto("/clinic/audit/")
    text = page.locator("table.audit").inner_text()
    for raw in RAW:
        assert raw not in text, raw
    assert "Patient: " in text
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    screenshot(page, f"audit-clinic-{width}")
