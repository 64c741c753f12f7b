"""Celery tasks: thin wrappers that take ids and call plain functions.

``sweep_reminders`` runs from beat on a fixed UTC interval; ``send_reminder`` sends one
outbox row. Both acknowledge late, so a task whose worker died is delivered again; the
row's conditional claim makes that harmless.
"""

import functools
import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import DatabaseError, transaction

from reminders import delivery, sweep

logger = logging.getLogger(__name__)


# Task names are those of the code before the move (refills.tasks), so queued messages and
# beat schedules of a running installation stay valid.
@shared_task(name="refills.tasks.sweep_reminders", acks_late=True, ignore_result=True)
def sweep_reminders() -> None:
    run = sweep.run_sweep()
    logger.info(
        "reminder sweep %s: %d new, %d requeued, %d clinics failed",
        run.pk,
        run.rows_created,
        run.rows_requeued,
        run.clinics_failed,
    )


@shared_task(
    name="refills.tasks.send_reminder",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    # The database being away is retried by Celery; send failures by the row's own backoff.
    autoretry_for=(DatabaseError,),
    retry_backoff=settings.REMINDER_BACKOFF_SECONDS,
    retry_backoff_max=settings.REMINDER_LONGEST_BACKOFF_SECONDS,
    retry_jitter=True,
    max_retries=settings.REMINDER_MAX_ATTEMPTS,
)
def send_reminder(self, reminder_id: int) -> str:
    outcome = delivery.deliver(reminder_id)
    if outcome.result == delivery.RETRY:
        # Same moment as the row's next_attempt_at; if this message is lost, the sweep requeues the row.
        raise self.retry(eta=outcome.retry_at, max_retries=settings.REMINDER_MAX_ATTEMPTS)
    return outcome.result


def enqueue_send(reminder_id: int) -> None:
    """Send a row once the current transaction commits (at once outside one).

    Robust: if the broker is down the row stays pending and the next sweep enqueues it.
    """
    send = functools.partial(send_reminder.delay, reminder_id)
    send.__qualname__ = "send_reminder.delay"  # robust on_commit names the callable when it logs a failure
    transaction.on_commit(send, robust=True)


@worker_ready.connect
def sweep_when_embedded_beat_starts(sender=None, **kwargs):
    """With an embedded beat (`make run`), sweep at start rather than one interval later.

    Sent once the worker consumes, so the queue exists (a fresh SQLite broker cannot
    take two processes declaring it at once).
    """
    if getattr(getattr(sender, "controller", None), "beat", None) is None:
        return
    try:
        sweep_reminders.delay()
    except Exception:  # the schedule will catch up
        logger.warning("could not enqueue the start-up sweep", exc_info=True)
