"""The import preview when rows have problems: with none valid it says plainly that nothing
can be imported (no table of zero counts "for 3 rows"); with some valid, the counts are of
the valid rows and say so ("2 of 3 rows")."""

import pytest
import time_machine
from django.urls import reverse

from imports import import_jobs
from imports.models import ImportJob, PendingImport
from tests.test_command_import_caseload import csv_text
from tests.test_view_import import NOW, caseload_rows, preview_page, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):  # the rows' dates are around 1 March 2026
        yield


@pytest.fixture(autouse=True)
def jobs_run_at_once(monkeypatch):
    monkeypatch.setattr(import_jobs, "schedule", import_jobs.run_job)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_no_valid_row_says_none_can_be_imported(admin_client):
    rows = caseload_rows(3)
    for row in rows:
        row["pump_model"] = "medtronic-x"
    upload(admin_client, csv_text(rows))
    page = preview_page(admin_client).content.decode()
    assert "None of the 3 rows can be imported: fix the problems below and upload again." in page
    assert "3 rows with 3 problems: nothing can be imported" in page
    # No table of zeros claiming to be what "the valid rows" (all 3 of them) would do.
    assert "What the valid rows would do" not in page and 'id="counts"' not in page
    assert "Import 3 rows" not in page and "Discard this file" in page
    # The job's own page (/import/jobs/<id>/) shows the same preview.
    job = ImportJob.objects.get(kind=ImportJob.Kind.PREVIEW)
    assert (
        "None of the 3 rows can be imported" in admin_client.get(reverse("import_job", args=[job.pk])).content.decode()
    )


def test_some_valid_rows_are_counted_as_the_valid_ones(admin_client):
    rows = caseload_rows(3)
    rows[0]["pump_model"] = "medtronic-x"
    upload(admin_client, csv_text(rows))
    response = preview_page(admin_client)
    page = response.content.decode()
    assert "What the valid rows would do (2 of 3 rows)" in page
    assert "None of the" not in page
    assert response.context["counts"][0] == ("patient", 2, 0)


def test_a_clean_file_still_says_what_the_import_will_do(admin_client):
    upload(admin_client, csv_text(caseload_rows(3)))
    page = preview_page(admin_client).content.decode()
    assert "What the import will do (3 rows)" in page and "Import 3 rows" in page
    assert "None of the" not in page


def test_an_import_job_whose_rows_all_fail_says_so(admin_client, admin_user, clinic):
    """The import re-checks every row: if they all fail then (data changed since the
    preview), its page says none could be imported and shows no zero counts."""
    rows = caseload_rows(2)
    for row in rows:
        row["pump_model"] = "medtronic-x"
    upload(admin_client, csv_text(rows))
    job = import_jobs.start(PendingImport.objects.get(), ImportJob.Kind.IMPORT, admin_user)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and not job.result["ok"]
    page = admin_client.get(reverse("import_job", args=[job.pk])).content.decode()
    assert "Nothing was imported: 2 problems found." in page
    assert "None of the 2 rows can be imported" in page and 'id="counts"' not in page
