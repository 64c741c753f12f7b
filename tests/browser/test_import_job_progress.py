"""Issue 13: the browser import as background jobs. An admin uploads a file and lands on
the job's page, which follows the worker's progress (the script polls the JSON status and
moves the bar; without JavaScript the page refreshes itself), then shows the preview;
confirming starts the import job, whose page ends on the outcome.

There is no Celery worker here: the test runs each job itself, as the worker would, with
the browser offline meanwhile so that the live server (which shares the test's database
connection) never serves the page's polls at the same moment.
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from imports import import_jobs
from imports.models import ImportJob, PendingImport
from patients.models import Patient
from tests.browser.conftest import DESKTOP, login, screenshot
from tests.test_command_import_caseload import csv_text
from tests.test_view_import import caseload_rows

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def rows_for_today(clinic, count: int) -> list[dict]:
    """Valid rows dated around the live server's today (no appointments)."""
    today = clinic.today()
    rows = caseload_rows(count)
    for n, row in enumerate(rows):
        row["last_refill_date"] = (today - timedelta(days=1 + n % 20)).isoformat()
        row.pop("next_appointment", None)
    return rows


def run_as_the_worker(page, job: ImportJob) -> None:
    page.context.set_offline(True)
    try:
        import_jobs.run_job(job.pk)
    finally:
        page.context.set_offline(False)


def test_upload_follows_the_jobs_progress_then_previews_and_imports(page, clinic, admin_user, tmp_path, monkeypatch):
    monkeypatch.setattr(import_jobs, "schedule", lambda job_id: None)  # queued until run below
    path = tmp_path / "caseload.csv"
    path.write_text(csv_text(rows_for_today(clinic, 6)), encoding="utf-8")
    page.set_viewport_size(WIDE)
    login(page, "alice-admin")

    page.goto("/import/")
    page.get_by_label("Caseload file (CSV or XLSX)").set_input_files(str(path))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url(re.compile(r"/import/jobs/\d+/$"))
    preview = ImportJob.objects.get(kind="preview")
    assert page.get_by_role("heading", level=1).inner_text() == "Preview of the import"
    assert page.locator("#job-progress-text").inner_text() == "Waiting for the worker to start."
    job_url = page.url

    # The worker has checked 3 of the 6 rows: the script moves the bar without a reload.
    page.context.set_offline(True)
    ImportJob.objects.filter(pk=preview.pk).update(status="running", rows_checked=3, rows_total=6)
    page.context.set_offline(False)
    expect(page.locator("#job-progress-text")).to_have_text("3 of 6 rows checked (50%).", timeout=15_000)
    assert page.locator("#job-progress").get_attribute("max") == "6"
    assert page.locator("#job-progress").text_content() == "50%"  # set by the script with the value
    assert page.url == job_url
    screenshot(page, "import-job-1-progress-1366")
    page.set_viewport_size(PHONE)
    screenshot(page, "import-job-1-progress-390")
    page.set_viewport_size(WIDE)

    # Done: the script reloads the page, which now shows the preview.
    ImportJob.objects.filter(pk=preview.pk).update(status="queued", rows_checked=0, rows_total=None)
    run_as_the_worker(page, preview)
    page.wait_for_selector("text=Preview of 6 rows", timeout=15_000)
    assert "Nothing has been written yet" in page.content()
    assert Patient.objects.count() == 0
    screenshot(page, "import-job-2-preview-1366")

    page.get_by_role("button", name="Import 6 rows").click()
    page.wait_for_url(re.compile(r"/import/jobs/\d+/$"))
    job = ImportJob.objects.get(kind="import")
    assert page.url.endswith(f"/import/jobs/{job.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Import of caseload.csv"
    run_as_the_worker(page, job)
    page.wait_for_selector("text=Imported 6 rows", timeout=15_000)
    assert Patient.objects.filter(clinic=clinic).count() == 6
    screenshot(page, "import-job-3-done-1366")
    page.set_viewport_size(PHONE)
    screenshot(page, "import-job-3-done-390")
    page.set_viewport_size(DESKTOP)


def test_without_javascript_the_progress_page_refreshes_itself(browser, live_server, clinic, admin_user, tmp_path):
    context = browser.new_context(viewport=WIDE, base_url=live_server.url, locale="en-GB", java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login(page, "alice-admin")
        pending = PendingImport.objects.create(
            clinic=clinic, user=admin_user, filename="big.csv", content=csv_text(rows_for_today(clinic, 2)).encode()
        )
        job = ImportJob.objects.create(
            clinic=clinic,
            created_by=admin_user,
            kind="import",
            pending=pending,
            pending_key=pending.key,
            filename="big.csv",
            status="running",
            rows_total=32739,
            rows_checked=12000,
        )
        ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=job.created_at)
        page.goto(f"/import/jobs/{job.pk}/")
        assert page.locator("#job-progress-text").inner_text() == "12000 of 32739 rows checked (36%)."
        screenshot(page, "import-job-4-nojs-progress-1366")
        # The meta refresh brings the new count without any script.
        context.set_offline(True)
        ImportJob.objects.filter(pk=job.pk).update(rows_checked=20000)
        context.set_offline(False)
        page.wait_for_selector("text=20000 of 32739 rows checked", timeout=15_000)
    finally:
        context.close()
