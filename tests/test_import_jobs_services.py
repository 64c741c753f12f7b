"""Import jobs against a real Celery worker (a subprocess), Redis broker and PostgreSQL.

The worker and its helpers are those of tests/test_reminders_services.py: skipped without
PostgreSQL and Redis (as there), committed data so the worker sees it.
"""

import time
from datetime import timedelta

import pytest

from imports import import_jobs
from imports.models import ImportJob, PendingImport
from patients.models import Patient
from tests.factories import ClinicFactory, MembershipFactory, UserFactory
from tests.test_command_import_caseload import csv_text
from tests.test_reminders_services import broker, services_test, sink, wait_for, worker  # noqa: F401 (fixtures)
from tests.test_view_import import caseload_rows

Status = ImportJob.Status


def staged(rows: int):
    clinic = ClinicFactory(slug="jobs", name="Jobs Pump Clinic", time_zone="Europe/London")
    user = MembershipFactory(clinic=clinic, role="admin", user=UserFactory(username="jobs-admin")).user
    # Dated around the real today: the worker is not under time-machine.
    rows_ = caseload_rows(rows)
    today = clinic.today()
    for n, row in enumerate(rows_):
        row["last_refill_date"] = (today - timedelta(days=1 + n % 20)).isoformat()
        row.pop("next_appointment", None)
    pending = PendingImport.objects.create(
        clinic=clinic, user=user, filename="caseload.csv", content=csv_text(rows_).encode()
    )
    return clinic, user, pending


def status(job) -> tuple:
    job.refresh_from_db()
    return job.status, job.rows_checked, job.rows_total


@services_test
@pytest.mark.timeout(300)
def test_a_worker_runs_the_preview_and_the_import(worker, broker):  # noqa: F811
    clinic, user, pending = staged(40)
    worker.start()
    preview = import_jobs.start(pending, ImportJob.Kind.PREVIEW, user)  # outside a transaction: queued at once
    wait_for(lambda: status(preview)[0] == Status.DONE, 60, "the preview job")
    assert preview.result["ok"] and Patient.objects.count() == 0
    job = import_jobs.start(pending, ImportJob.Kind.IMPORT, user)
    wait_for(lambda: status(job)[0] == Status.DONE, 60, "the import job")
    assert status(job) == (Status.DONE, 40, 40)
    assert Patient.objects.filter(clinic=clinic).count() == 40


@services_test
@pytest.mark.timeout(300)
def test_a_killed_worker_writes_nothing_and_its_job_runs_again(worker, broker, monkeypatch):  # noqa: F811
    clinic, user, pending = staged(1500)
    worker.start()
    job = import_jobs.start(pending, ImportJob.Kind.IMPORT, user)
    # Progress is seen from here (another connection) while the worker's import is open.
    wait_for(lambda: status(job)[0] == Status.RUNNING and 0 < status(job)[1] < 1500, 60, "progress")
    worker.kill()
    assert Patient.objects.count() == 0  # its transaction died with it: nothing half written
    assert status(job)[0] == Status.RUNNING
    # Delivered again (acks late): a worker starting after the broker's visibility timeout
    # (10 s here; an hour in production, where the stale check reports the job first) takes it.
    time.sleep(11)
    worker.start()
    wait_for(lambda: status(job)[0] == Status.DONE, 90, "the job to run again")
    job.refresh_from_db()
    assert job.attempts == 2
    assert Patient.objects.filter(clinic=clinic).count() == 1500


@services_test
@pytest.mark.timeout(300)
def test_a_job_whose_worker_is_gone_is_reported_failed(worker, broker, settings):  # noqa: F811
    _clinic, user, pending = staged(1500)
    worker.start()
    job = import_jobs.start(pending, ImportJob.Kind.IMPORT, user)
    wait_for(lambda: status(job)[1] > 0, 60, "progress")
    worker.kill()  # and never restarted
    settings.IMPORT_JOB_STALE_SECONDS = 2
    time.sleep(2.5)
    assert import_jobs.check_import_jobs() == 1
    assert status(job)[0] == Status.FAILED
    assert Patient.objects.count() == 0
