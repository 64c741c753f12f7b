"""The public health view for an external monitor."""

import socket
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic.job_runs import JOBS, JobRun
from reminders.models import Reminder, SweepRun
from tests.reminders_data import reminder_row, utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 3, 10, 12, 0)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def job_finished(name: str, ago: timedelta, ok: bool = True, error: str = ""):
    """The last run of a periodic job, finished ``ago`` (a success unless ``ok`` is False)."""
    finished = NOW - ago
    last_success = finished if ok else None
    return JobRun.objects.update_or_create(
        name=name,
        defaults={
            "started_at": finished - timedelta(seconds=2),
            "finished_at": finished,
            "ok": ok,
            "error": error,
            "last_success_at": last_success,
        },
    )[0]


def sweep_finished(ago: timedelta):
    """A finished sweep; the other periodic jobs (the worklist sync) ran as recently."""
    for name in JOBS:
        job_finished(name, ago)
    return SweepRun.objects.create(started_at=NOW - ago - timedelta(seconds=2), finished_at=NOW - ago)


def test_healthy_after_a_recent_sweep(client, clinic):
    sweep_finished(timedelta(seconds=90))
    # Gave up an hour ago: it waits for a person in the outbox, the service is healthy.
    failed = reminder_row(clinic, status=Reminder.Status.FAILED)
    Reminder.objects.filter(pk=failed.pk).update(updated_at=NOW - timedelta(hours=1))
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "broker": "ok",
        "sweep": "ok",
        "last_sweep_age_seconds": 90,
        "reminders": "ok",
        "reminders_failing_now": 0,
        "failed_reminders": 1,
        "jobs": {
            "reminder_sweep": {"status": "ok", "last_success_age_seconds": 90, "error": ""},
            "worklist_sync": {"status": "ok", "last_success_age_seconds": 90, "error": ""},
        },
        "jobs_failing": [],
        "status": "ok",
    }
    assert response["Cache-Control"] == "no-store"


def test_unhealthy_before_any_sweep(client):
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["last_sweep_age_seconds"] is None and response.json()["sweep"] == "late"


def test_unhealthy_when_the_last_sweep_is_old(client, settings):
    settings.REMINDER_SWEEP_SECONDS = 300
    sweep_finished(timedelta(minutes=16))
    SweepRun.objects.create(started_at=NOW - timedelta(seconds=30))  # running, not finished
    response = client.get(reverse("health"))
    assert response.status_code == 503 and response.json()["last_sweep_age_seconds"] == 960


def test_unhealthy_when_the_broker_is_unreachable(client, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    sweep_finished(timedelta(seconds=10))
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["broker"] == "error" and response.json()["database"] == "ok"


def test_health_is_public_and_get_only(client, admin_user):
    sweep_finished(timedelta(seconds=10))
    assert client.get(reverse("health")).status_code == 200  # anonymous
    assert client.post(reverse("health")).status_code == 405


def test_load_balancer_check_ignores_a_late_sweep(client):
    # No sweep has run: the monitor view is unhealthy, yet this web node can serve pages.
    assert client.get(reverse("health")).status_code == 503
    response = client.get(reverse("health") + "?check=web")
    assert response.status_code == 200 and response.json()["sweep"] == "late"


def test_load_balancer_check_fails_without_the_database(client, monkeypatch):
    from reminders import views as views_outbox

    monkeypatch.setattr(views_outbox, "database_ok", lambda: False)
    response = client.get(reverse("health") + "?check=web")
    assert response.status_code == 503 and response.json()["database"] == "error"


def test_reminders_failing_now_make_it_unhealthy_before_they_run_out_of_attempts(client, clinic):
    """An SMTP outage shows within minutes, while the rows are still retrying."""
    sweep_finished(timedelta(seconds=60))
    # Two rows whose last attempt failed 3 and 14 minutes ago, waiting to retry (not yet failed).
    for ago in (3, 14):
        row = reminder_row(clinic, status=Reminder.Status.PENDING, attempts=2, last_error="ConnectionRefusedError")
        Reminder.objects.filter(pk=row.pk).update(updated_at=NOW - timedelta(minutes=ago))
    response = client.get(reverse("health"))
    assert response.status_code == 503
    report = response.json()
    assert (report["reminders"], report["reminders_failing_now"], report["failed_reminders"]) == ("failing", 2, 0)
    assert report["status"] == "error" and report["database"] == report["sweep"] == "ok"
    # A load balancer keeps the node: the web still serves pages.
    assert client.get(reverse("health") + "?check=web").status_code == 200


def test_a_row_that_gave_up_just_now_counts_as_failing(client, clinic):
    sweep_finished(timedelta(seconds=60))
    reminder_row(clinic, status=Reminder.Status.FAILED, attempts=5)  # updated now
    report = client.get(reverse("health")).json()
    assert (report["reminders_failing_now"], report["failed_reminders"], report["status"]) == (1, 1, "error")


def test_old_failures_retries_and_fresh_rows_are_not_failing_now(client, clinic):
    sweep_finished(timedelta(seconds=60))
    old = reminder_row(clinic, status=Reminder.Status.PENDING, attempts=3, last_error="SMTPServerDisconnected")
    Reminder.objects.filter(pk=old.pk).update(updated_at=NOW - timedelta(minutes=16))  # outside the window
    reminder_row(clinic, status=Reminder.Status.PENDING, attempts=0)  # not tried yet (or retried from the outbox)
    reminder_row(clinic, status=Reminder.Status.SENDING, attempts=1)  # being sent
    reminder_row(clinic, status=Reminder.Status.SENT, attempts=2)  # failed once, then went out
    reminder_row(clinic, status=Reminder.Status.SKIPPED, last_error="Not sent: the patient turned reminders off.")
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert (response.json()["reminders"], response.json()["reminders_failing_now"]) == ("ok", 0)


def test_a_last_sweep_where_a_clinic_failed_is_reported_failed(client, settings):
    # e.g. "database is locked" under `make run`: the run finishes, one clinic raised.
    settings.REMINDER_SWEEP_SECONDS = 300
    SweepRun.objects.create(started_at=NOW - timedelta(seconds=62), finished_at=NOW - timedelta(seconds=60))
    SweepRun.objects.create(
        started_at=NOW - timedelta(seconds=2), finished_at=NOW - timedelta(seconds=1), clinics_failed=1
    )
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["sweep"] == "failed" and response.json()["status"] == "error"


def test_a_sweep_that_never_finished_is_reported_failed_after_an_interval(client, settings):
    settings.REMINDER_SWEEP_SECONDS = 300
    sweep_finished(timedelta(seconds=400))
    SweepRun.objects.create(started_at=NOW - timedelta(seconds=310))  # raised before finishing
    response = client.get(reverse("health"))
    assert response.status_code == 503 and response.json()["sweep"] == "failed"
    SweepRun.objects.filter(finished_at__isnull=True).update(started_at=NOW - timedelta(seconds=30))
    assert client.get(reverse("health")).json()["sweep"] == "ok"  # still running: not failed


# Every periodic job, not only the sweep ------------------------------------------------


def test_a_worklist_sync_that_raises_makes_it_unhealthy_naming_it_until_a_later_success(
    client, clinic, settings, monkeypatch
):
    from worklist import sync

    settings.REMINDER_SWEEP_SECONDS = 300
    sweep_finished(timedelta(seconds=60))

    def broken(clinic, now=None):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(sync, "sync_clinic", broken)
    assert sync.sync_all() == 1  # the clinic failed; the run itself finishes
    response = client.get(reverse("health"))
    assert response.status_code == 503
    report = response.json()
    assert report["jobs_failing"] == ["worklist_sync"] and report["status"] == "error"
    assert report["jobs"]["worklist_sync"] == {
        "status": "failed",
        "last_success_age_seconds": 60,
        "error": "RuntimeError",
    }
    assert report["sweep"] == "ok" and report["jobs"]["reminder_sweep"]["status"] == "ok"
    assert client.get(reverse("health") + "?check=web").status_code == 200  # the web still serves

    monkeypatch.undo()
    assert sync.sync_all() == 0
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json()["jobs"]["worklist_sync"] == {"status": "ok", "last_success_age_seconds": 0, "error": ""}


def test_a_sync_that_raises_outside_the_clinics_is_recorded_failed(client, settings, monkeypatch):
    from worklist import sync

    sweep_finished(timedelta(seconds=60))
    monkeypatch.setattr(sync.Clinic.objects, "order_by", lambda *a: (_ for _ in ()).throw(ConnectionError("gone")))
    with pytest.raises(ConnectionError):
        sync.sync_all()
    report = client.get(reverse("health")).json()
    assert report["jobs"]["worklist_sync"]["status"] == "failed" and report["jobs"]["worklist_sync"]["error"] == (
        "ConnectionError"
    )


def test_a_stalled_job_is_reported_late(client, settings):
    """Beat stopped enqueuing the sync (or no worker takes it) while the sweep still runs."""
    settings.REMINDER_SWEEP_SECONDS = 300
    sweep_finished(timedelta(seconds=60))
    job_finished("worklist_sync", timedelta(seconds=900))  # three intervals: still ok
    assert client.get(reverse("health")).status_code == 200
    job_finished("worklist_sync", timedelta(seconds=901))
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["jobs_failing"] == ["worklist_sync"]
    assert response.json()["jobs"]["worklist_sync"]["status"] == "late"


def test_a_job_that_never_ran_is_late_and_one_running_too_long_failed(client, settings):
    settings.REMINDER_SWEEP_SECONDS = 300
    sweep_finished(timedelta(seconds=60))
    JobRun.objects.filter(name="worklist_sync").delete()
    report = client.get(reverse("health")).json()
    assert report["jobs"]["worklist_sync"] == {"status": "late", "last_success_age_seconds": None, "error": ""}
    JobRun.objects.create(name="worklist_sync", started_at=NOW - timedelta(seconds=310), last_success_at=NOW)
    assert client.get(reverse("health")).json()["jobs"]["worklist_sync"]["status"] == "failed"  # never finished
    JobRun.objects.filter(name="worklist_sync").update(started_at=NOW - timedelta(seconds=30))
    assert client.get(reverse("health")).status_code == 200  # still running within its period


def test_the_sweep_records_its_run_as_a_job(client, clinic, settings, monkeypatch):
    from reminders import sweep

    sweep.run_sweep(NOW)
    assert JobRun.objects.get(name="reminder_sweep").ok is True

    def broken(clinic, now, since=None):
        raise ValueError("bad row")

    monkeypatch.setattr(sweep, "sweep_clinic", broken)
    sweep.run_sweep(NOW)
    row = JobRun.objects.get(name="reminder_sweep")
    assert (row.ok, row.error, row.last_success_at) == (False, "ValueError", NOW)
