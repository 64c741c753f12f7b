"""axe-core on the main pages of the demo clinic, with a screenshot of each page.

One walk through the pages of the seeded demo clinic (demo.seeder, about ten seconds to
build): each page is checked with axe-core (axe-playwright-python's bundled axe.min.js,
no network) at desktop width and photographed full-page at desktop (1280 px) and tablet
(1024 px) widths under test-artifacts/screenshots/. No page may have a violation of
impact "serious" or "critical".
"""

import json

import pytest
from axe_playwright_python.sync_playwright import Axe

from demo import seeder as demo
from patients.models import Pump
from refills import schedule
from refills.models import Refill
from tests.browser.conftest import DESKTOP, TABLET, login, screenshot

pytestmark = pytest.mark.browser

BLOCKING_IMPACTS = ("serious", "critical")


def blocking_violations(results) -> list[dict]:
    return [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]


def describe(page_name: str, violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{page_name}] {v['id']} ({v['impact']}): {v['help']} ({len(v['nodes'])} nodes)")
        for node in v["nodes"][:5]:
            lines.append(f"    {json.dumps(node['target'])}: {node['html'][:200]}")
            lines.append(f"      {node.get('failureSummary', '').replace(chr(10), ' ')[:300]}")
    return "\n".join(lines)


@pytest.fixture
def demo_clinic(db):
    clinic, _plan, today = demo.create_demo()
    pumps = Pump.objects.active().filter(clinic=clinic).with_status(today)
    # A pump with some history: overdue, more than one fill, so the chart and timeline have content.
    overdue = next(
        p
        for p in pumps.filter(status_now=schedule.OVERDUE).order_by("patient__mrn")
        if p.refills.count() > 1 and p.reservoir_ml <= 20
    )
    assert Refill.objects.filter(pump__clinic=clinic, needs_review=True).exists()  # the review list has rows
    return clinic, overdue


def check_page(page, axe, name: str, found: dict) -> None:
    page.set_viewport_size(DESKTOP)
    assert page.get_by_role("heading", level=1).count() == 1, f"{name}: one h1 per page"
    blocking = blocking_violations(axe.run(page))
    if blocking:
        found[name] = blocking
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(TABLET)
    screenshot(page, f"{name}-tablet")
    # Nothing wider than the tablet viewport except inside the scrolling table wrappers.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px at {TABLET['width']}px"
    page.set_viewport_size(DESKTOP)


def test_axe_reports_serious_violations_it_is_shown(page):
    """The check itself works under the app's content security policy: a page with an
    unlabelled input and pale grey text on white are reported."""
    page.goto("/accounts/login/")
    page.evaluate(
        """() => {
            const input = document.createElement("input");
            input.type = "text";
            const text = document.createElement("p");
            text.textContent = "Invisible";
            text.style.color = "#bbb";
            text.style.background = "#fff";
            document.querySelector("main").append(input, text);
        }"""
    )
    ids = {v["id"] for v in blocking_violations(Axe().run(page))}
    assert {"label", "color-contrast"} <= ids, ids


def test_main_pages_have_no_serious_accessibility_violations(page, demo_clinic):
    clinic, pump = demo_clinic
    axe = Axe()
    found: dict[str, list] = {}

    page.goto("/accounts/login/")
    check_page(page, axe, "01-login", found)
    login(page, demo.MANAGER, demo.PASSWORD)

    pages = [
        ("02-today", "/"),
        ("03-caseload", "/caseload/"),
        ("04-overdue", "/overdue/"),
        ("05-replacements", "/replacements/"),
        ("06-review", "/review/"),
        ("07-appointments", "/appointments/"),
        ("08-patient", f"/patients/{pump.patient_id}/"),
        ("09-refill-form", f"/pumps/{pump.pk}/refill/"),
        ("11-booking-form", f"/patients/{pump.patient_id}/appointments/new/?kind=refill"),
        ("12-wallet-card", f"/patients/{pump.patient_id}/wallet-card/"),
        ("13-add-patient", "/patients/new/"),
        ("14-edit-patient", f"/patients/{pump.patient_id}/edit/"),
        ("15-patient-history", f"/patients/{pump.patient_id}/history/"),
        ("16-program-change", f"/pumps/{pump.pk}/program/"),
        ("17-implant-pump", f"/patients/{pump.patient_id}/pumps/new/"),
        ("18-edit-pump", f"/pumps/{pump.pk}/edit/"),
        ("19-outbox", "/outbox/"),
        ("20-calendars", "/clinic/calendar-feeds/"),
        ("21-two-factor", "/account/two-factor/"),
        # The error pages (issue 12 item 12): another clinic's or a missing patient, a role too low.
        ("22-error-404", "/patients/999999/"),
        ("23-error-403", "/clinic/members/"),
    ]
    expected_status = {"22-error-404": 404, "23-error-403": 403}
    for name, url in pages:
        response = page.goto(url)
        wanted = expected_status.get(name, 200)
        assert response.status == wanted, f"{name}: {url} answered {response.status}"
        check_page(page, axe, name, found)
        if name == "02-today":
            # Keyboard: the first Tab reaches the skip link, which leads to the main content.
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.textContent") == "Skip to content"
            page.keyboard.press("Enter")
            assert page.url.endswith("#main")
        if name == "04-overdue":
            # On a 1024 px tablet the worklist's one-click booking is on screen, not scrolled away.
            page.set_viewport_size(TABLET)
            box = page.get_by_role("link", name="Book refill").first.bounding_box()
            assert box is not None and box["x"] + box["width"] <= TABLET["width"], box
            page.set_viewport_size(DESKTOP)
        if name == "09-refill-form":
            # The same form after Preview: the preview panel with a flagged discrepancy.
            page.get_by_label("Volume removed").fill("9.00")
            page.get_by_role("button", name="Preview").click()
            page.locator("#preview").wait_for()
            assert "Will be flagged for review" in page.locator("#preview").inner_text()
            check_page(page, axe, "10-refill-preview", found)

    # The pages only a clinic admin may open.
    page.context.clear_cookies()
    login(page, demo.ADMIN, demo.PASSWORD)
    for name, url in [
        ("24-members", "/clinic/members/"),
        ("25-clinic-settings", "/clinic/settings/"),
        ("26-import", "/import/"),
        ("27-audit", "/clinic/audit/"),
    ]:
        response = page.goto(url)
        assert response.status == 200, f"{name}: {url} answered {response.status}"
        check_page(page, axe, name, found)

    assert not found, "axe found serious or critical violations:\n" + "\n".join(
        describe(name, violations) for name, violations in found.items()
    )
