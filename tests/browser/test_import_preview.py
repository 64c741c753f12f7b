"""Issue 12 items 7 and 8, issue 13 defect 6 in a real browser: the import preview lists
every problem of every row and counts the rows, warns about reminders without an email
address; a file with 1,500 unknown columns gets a usable mapping page. Screenshots of the
preview at 1366 and 390 px and of the mapping page."""

import csv
import io
import re

import pytest

from imports.columns import COLUMNS
from tests.browser.conftest import login, screenshot, serious_violations
from tests.test_command_import_caseload import csv_text
from tests.test_view_import import caseload_rows

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def upload(page, tmp_path, content: str, name: str = "caseload.csv") -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    page.goto("/import/")
    page.get_by_label("Caseload file (CSV or XLSX)").set_input_files(str(path))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_load_state("load")


def open_preview(page) -> None:
    """The preview, once its background check has run (run here, as the worker would)."""
    page.goto("/import/preview/")
    if "/import/jobs/" in page.url:
        from imports import import_jobs
        from imports.models import ImportJob

        for job in ImportJob.objects.exclude(status=ImportJob.Status.DONE):
            import_jobs.run_job(job.pk)
        page.goto("/import/preview/")


def rows_without_visits(count: int) -> list[dict]:
    """Valid rows (the live server runs on today's date: no appointment dated in the test's March)."""
    rows = caseload_rows(count)
    for row in rows:
        row.pop("next_appointment", None)
    return rows


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_preview_lists_every_problem_and_the_warnings(page, clinic, admin_user, tmp_path):
    rows = rows_without_visits(8)
    rows[1].update(pump_model="medtronic-x", concentration_mcg_ml="50")
    rows[2].update(daily_dose_mcg="5000", date_of_birth="02/04/1975")
    rows[3].update(email="")  # opted in without an email: a warning
    page.set_viewport_size(WIDE)
    login(page, "alice-admin")

    upload(page, tmp_path, csv_text(rows))
    open_preview(page)

    assert page.get_by_role("heading", level=1).inner_text() == "Preview of 8 rows"
    assert page.locator("#problems-heading").inner_text() == "2 rows with 4 problems: nothing can be imported"
    problems = page.locator("#problems li").all_inner_texts()
    assert problems[:2] == [
        "row 3, column pump_model: Unknown pump model; use one of: other, prometra-ii-20, prometra-ii-40, "
        "synchromed-ii-20, synchromed-ii-40.",
        "row 3, column concentration_mcg_ml: 50 mcg/mL is the screening strength and cannot fill a pump.",
    ]
    warnings = page.locator("#warnings li").all_inner_texts()
    assert warnings == [
        "row 5, column email: Reminders are on but there is no email address: "
        "this patient cannot be reminded until one is added."
    ]
    assert page.get_by_role("button", name=re.compile("^Import")).count() == 0
    assert not serious_violations(page)
    screenshot(page, "import_preview-1366")
    page.set_viewport_size(PHONE)
    assert no_sideways_scroll(page)
    screenshot(page, "import_preview-390")


def test_a_file_with_1500_unknown_columns_gets_a_usable_mapping_page(page, clinic, admin_user, tmp_path):
    extras = [f"Extra {n:04d}" for n in range(1500)]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(extras + ["Hospital Number" if c == "mrn" else c for c in COLUMNS])
    for row in rows_without_visits(3):
        writer.writerow([""] * 1500 + [row.get(c, "") for c in COLUMNS])
    page.set_viewport_size(WIDE)
    login(page, "alice-admin")

    upload(page, tmp_path, out.getvalue())

    assert "/import/columns/" in page.url
    assert page.locator("select").count() == 40
    assert "1461 other columns ignored" in page.locator("#ignored-columns").inner_text()
    assert page.get_by_label("Hospital Number").input_value() == "mrn"
    screenshot(page, "import_mapping_many_columns-1366")
    page.get_by_role("button", name="Save and preview").click()
    page.wait_for_load_state("load")
    open_preview(page)
    assert page.get_by_role("heading", level=1).inner_text() == "Preview of 3 rows"
    assert page.get_by_role("button", name="Import 3 rows").count() == 1


def test_patient_page_says_cannot_be_reminded(page, clinic, admin_user):
    from tests.factories import PatientFactory, PumpFactory

    patient = PatientFactory(clinic=clinic, mrn="NOMAIL1", email="", reminders_opt_in=True)
    PumpFactory(patient=patient)
    page.set_viewport_size(PHONE)
    login(page, "alice-admin")

    page.goto(f"/patients/{patient.pk}/")

    badge = page.locator("#cannot-be-reminded")
    assert badge.is_visible() and badge.inner_text() == "Cannot be reminded: no email address"
    screenshot(page, "patient_cannot_be_reminded-390")
    box = badge.bounding_box()
    assert box["x"] + box["width"] <= 390  # the badge wraps within the screen
