"""Re-importing a caseload file that matches what is recorded: the preview says there is
nothing to import and offers no Import button; a confirm posted anyway (an old tab) does not
claim that rows were written. A file that changes something keeps the usual wording."""

from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from imports.importer import run_import
from imports.models import ImportJob, PendingImport
from patients.models import Pump
from tests.test_command_import_caseload import GOOD_ROWS, csv_text
from tests.test_view_import import caseload_rows, confirm, upload

NOW = "2026-03-01 10:00:00+00:00"
NOTHING_TO_IMPORT = "Nothing to import: every row of the file matches what is recorded."
NOTHING_CHANGED = "Nothing was changed: every row already matched what is recorded."


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def jobs_run_at_once(monkeypatch):
    """A worker runs each preview and import job as soon as it is made (as in tests/test_view_import.py)."""
    from imports import import_jobs

    monkeypatch.setattr(import_jobs, "schedule", import_jobs.run_job)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_preview_of_a_file_already_recorded_says_nothing_to_import_and_offers_no_import(admin_client, clinic):
    rows = caseload_rows(5)
    run_import(clinic, csv_text(rows))
    upload(admin_client, csv_text(rows))

    preview = admin_client.get(reverse("import_preview"))

    assert preview.status_code == 200
    page = preview.content.decode()
    assert preview.context["result"].ok
    assert NOTHING_TO_IMPORT in page
    assert 'value="import"' not in page and "Import 5 rows" not in page
    assert f'href="{reverse("import_caseload")}"' in page  # a way back to upload another file
    assert "What the import will do" not in page


def test_a_confirm_posted_anyway_says_nothing_was_changed_not_imported(admin_client, clinic):
    rows = caseload_rows(5)
    run_import(clinic, csv_text(rows))
    upload(admin_client, csv_text(rows))
    admin_client.get(reverse("import_preview"))

    # The Import button of a tab opened before: the job runs the rules again and writes nothing.
    response = confirm(admin_client)

    job = ImportJob.objects.get(kind="import")
    assert response["Location"] == reverse("import_job", kwargs={"pk": job.pk})
    assert job.result["applied"]
    page = admin_client.get(response["Location"]).content.decode()
    assert NOTHING_CHANGED in page
    assert "Imported 5 rows" not in page and "Every row was written" not in page
    assert Pump.objects.count() == 5


def test_a_file_that_changes_one_row_keeps_the_import_button_and_wording(admin_client, clinic):
    run_import(clinic, csv_text(GOOD_ROWS))
    rows = [dict(row) for row in GOOD_ROWS]
    rows[1]["alarm_volume_ml"] = "3.5"
    upload(admin_client, csv_text(rows))

    page = admin_client.get(reverse("import_preview")).content.decode()

    assert NOTHING_TO_IMPORT not in page
    assert "What the import will do (3 rows)" in page
    assert "2 rows change nothing." in page
    assert 'value="import"' in page and "Import 3 rows" in page

    response = confirm(admin_client)
    page = admin_client.get(response["Location"]).content.decode()
    assert "Imported 3 rows" in page and "Every row was written, in one step." in page
    assert NOTHING_CHANGED not in page
    assert Pump.objects.get(serial_number="SN-2").alarm_volume_ml == Decimal("3.5")


def test_a_new_file_is_not_nothing_to_import(admin_client):
    upload(admin_client, csv_text(GOOD_ROWS))

    page = admin_client.get(reverse("import_preview")).content.decode()

    assert NOTHING_TO_IMPORT not in page
    assert 'value="import"' in page


def test_a_duplicate_mrn_or_serial_is_named_in_words_in_the_preview(admin_client):
    rows = caseload_rows(4)
    rows[2]["mrn"] = rows[0]["mrn"]
    rows[3]["serial_number"] = rows[1]["serial_number"]
    upload(admin_client, csv_text(rows))

    page = admin_client.get(reverse("import_preview")).content.decode()

    assert "row 4, column mrn: The same MRN is also on row 2." in page
    assert "row 5, column serial_number: The same serial number is also on row 3." in page
    assert "The same mrn" not in page and "The same serial_number" not in page
    assert PendingImport.objects.exists()
