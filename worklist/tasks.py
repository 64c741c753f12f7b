"""Celery task: the worklist sync, from beat on the reminder sweep's interval (a thin wrapper)."""

import logging

from celery import shared_task

from worklist import sync

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def sync_worklists() -> int:
    failed = sync.sync_all()
    if failed:
        logger.warning("worklist sync: %d clinic(s) failed", failed)
    return failed
