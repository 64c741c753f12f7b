"""The reminder outbox, the health view and the unsubscribe links."""

from datetime import UTC, datetime, timedelta

from tests.url_rules import NOT_ALLOWED, PUBLIC, STAFF, Rule

RULES = {
    "outbox": Rule(STAFF, NOT_ALLOWED),
    "outbox_retry": Rule(NOT_ALLOWED, STAFF, {"pk": "failed_reminder"}),
    # POST-only; a POST without "confirm" answers the confirmation page, so the matrix's
    # empty POST sends nothing.
    "outbox_retry_failed": Rule(NOT_ALLOWED, STAFF),
    "health": Rule(PUBLIC, NOT_ALLOWED, scoped=False),
    "unsubscribe": Rule(PUBLIC, PUBLIC, {"token": "unsubscribe_token"}, scoped=False),
}


def extra_objects(clinic, objects: dict) -> dict:
    from reminders.models import Reminder, SweepRun, unsubscribe_token

    moment = datetime(2025, 10, 1, 9, 59, tzinfo=UTC)
    # A recent sweep, so the health view answers 200 in the matrix's frozen time.
    SweepRun.objects.create(started_at=moment, finished_at=moment)
    from clinic.job_runs import JOBS, JobRun

    for name in JOBS:  # and so has every periodic job (the worklist sync...)
        JobRun.objects.create(name=name, started_at=moment, finished_at=moment, ok=True, last_success_at=moment)
    patient = objects["patient"]
    failed = Reminder.objects.create(
        clinic=clinic,
        kind=Reminder.Kind.REFILL_NEEDED,
        target=f"pump:{objects['pump'].pk}",
        key_date=moment.date(),
        recipient_email=patient.email,
        patient=patient,
        pump=objects["pump"],
        status=Reminder.Status.FAILED,
        attempts=5,
        last_error="SMTPServerDisconnected: Connection unexpectedly closed",
        due_at=moment,
        next_attempt_at=moment,
    )
    # It gave up an hour before: not "failing now", so the health view stays 200.
    Reminder.objects.filter(pk=failed.pk).update(updated_at=moment - timedelta(hours=1))
    return {"failed_reminder": failed, "unsubscribe_token": unsubscribe_token(failed)}
