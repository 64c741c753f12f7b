"""Materialise the worklist from the pumps' state: open, reopen, resolve and escalate items.

``sync_clinic(clinic, now)`` runs from the periodic task (worklist.tasks, every
REMINDER_SWEEP_SECONDS like the reminder sweep) and from the demo seeder; the record pages
sync the one pump they changed at once (``worklist.materialise.sync_pump``, the same code
without escalation). It never decides what the pages show on its own: the pages filter
items by the pumps' current condition (worklist.conditions.item_live_q), so between two runs an item may already read as cleared
(a booking) but never as needed when it is not. Items the sync writes:

- a pump that needs an item and has none for its cycle: a new open item;
- an item whose condition cleared: resolved, with why (refilled, booked, acknowledged ...);
- a resolved item whose condition came back in the same cycle (a booking cancelled): open again;
- an exception whose until-date has passed: open again;
- an empty or alarming item unclaimed for the clinic's escalation delay: escalated once.

Concurrent runs are harmless: items are created against their unique key (pump, kind,
cycle) and every state change is a conditional UPDATE.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from clinic import job_runs
from clinic.models import Clinic
from worklist import escalation
from worklist.materialise import bring_in_line, needed_keys, sync_pump  # noqa: F401 (this module's surface)

logger = logging.getLogger(__name__)
JOB_NAME = "worklist_sync"  # its last run in clinic.job_runs (the health view)


def sync_clinic(clinic: Clinic, now: datetime | None = None) -> dict:
    """Bring one clinic's items in line with its pumps on the clinic's local date at ``now``,
    and escalate the empty or alarming items unclaimed too long (worklist.escalation)."""
    return bring_in_line(clinic, now, escalate=escalation.escalate_due)


def sync_all(now: datetime | None = None) -> int:
    """Every clinic, each in its own transaction; one clinic's failure does not stop the others."""
    now = now or timezone.now()
    failed = 0
    with job_runs.record_run(JOB_NAME) as job:
        for clinic in Clinic.objects.order_by("pk"):
            try:
                sync_clinic(clinic, now)
            except Exception as exc:
                failed += 1
                job.failed(exc)
                logger.exception("worklist sync failed for clinic %s", clinic.pk)
    return failed
