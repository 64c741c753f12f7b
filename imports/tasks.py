"""Celery tasks of the import that are not jobs (imports.import_jobs holds the jobs' tasks).

The task name is that of the code before the move (refills.tasks), so beat schedules and
queued messages of a running installation stay valid.
"""

import logging

from celery import shared_task

from imports.models import PendingImport

logger = logging.getLogger(__name__)


@shared_task(name="refills.tasks.purge_stale_imports", acks_late=True, ignore_result=True)
def purge_stale_imports() -> int:
    """Delete uploaded caseload files left unconfirmed past their lifetime: they hold
    patient data, so they must not wait for the next upload to go."""
    deleted, _ = PendingImport.objects.stale().delete()
    if deleted:
        logger.info("purged %d expired pending import(s)", deleted)
    return deleted
