"""The last run of each periodic job (the reminder sweep, the worklist sync...), for /health/.

A job registers itself with its expected period (``register``, from its app's ``ready``)
and records each run with ``record_run``: one row per job name, holding when its last run
started and finished, whether it went well, the class of the error when not, and when it
last succeeded. Never patient data: only the job's name, times and an exception's class.

``job_states`` tells the health view, for every registered job, ``ok``, ``failed`` (its
last run raised, or a part of it did, or it started more than a period ago and never
finished) or ``late`` (no successful run within three periods: beat or the workers are
down). The apps above ``clinic`` write and register; ``clinic`` never names them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

LATE_AFTER_PERIODS = 3  # no success within three periods: the job has stalled

# name -> a function giving its expected period in seconds (read when asked: tests change settings)
JOBS: dict[str, Callable[[], float]] = {}


def register(name: str, period_seconds: Callable[[], float]) -> None:
    JOBS[name] = period_seconds


class JobRun(models.Model):
    """The last run of one periodic job (one row per job, overwritten by each run)."""

    name = models.CharField(_("job"), max_length=64, unique=True)
    started_at = models.DateTimeField(_("last started at"))
    finished_at = models.DateTimeField(_("last finished at"), null=True, blank=True)
    ok = models.BooleanField(_("last run went well"), null=True)
    error = models.CharField(_("error class"), max_length=100, blank=True)
    last_success_at = models.DateTimeField(_("last success at"), null=True, blank=True)

    class Meta:
        app_label = "clinic"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} {self.started_at:%Y-%m-%d %H:%M:%S}"


@dataclass
class Run:
    """A run in progress: a job that catches its parts' errors reports them with ``failed``."""

    name: str
    started_at: datetime
    errors: list[str] = field(default_factory=list)

    def failed(self, exc: BaseException) -> None:
        self.errors.append(type(exc).__name__)


@contextmanager
def record_run(name: str) -> Iterator[Run]:
    """Record the start, then the outcome, of one run of ``name`` (an exception is re-raised)."""
    run = Run(name=name, started_at=timezone.now())
    JobRun.objects.update_or_create(
        name=name, defaults={"started_at": run.started_at, "finished_at": None, "ok": None, "error": ""}
    )
    try:
        yield run
    except Exception as exc:
        run.failed(exc)
        finish(run)
        raise
    finish(run)


def finish(run: Run) -> None:
    now = timezone.now()
    ok = not run.errors
    values = {"finished_at": now, "ok": ok, "error": run.errors[0] if run.errors else ""}
    if ok:
        values["last_success_at"] = now
    # Only the run that started it: an overlapping later run's record is not overwritten.
    if not JobRun.objects.filter(name=run.name, started_at=run.started_at).update(**values):
        logger.info("job %s: a later run started before this one finished", run.name)


def job_states(now: datetime | None = None) -> dict[str, dict]:
    """Every registered job: its state (ok / failed / late), the age of its last success, its error class."""
    now = now or timezone.now()
    rows = {row.name: row for row in JobRun.objects.filter(name__in=list(JOBS))}
    states = {}
    for name in sorted(JOBS):
        period = float(JOBS[name]())
        row = rows.get(name)
        success_age = int((now - row.last_success_at).total_seconds()) if row and row.last_success_at else None
        failed = row is not None and (
            row.ok is False or (row.finished_at is None and (now - row.started_at).total_seconds() > period)
        )
        late = success_age is None or success_age > LATE_AFTER_PERIODS * period
        states[name] = {
            "status": "failed" if failed else ("late" if late else "ok"),
            "last_success_age_seconds": success_age,
            "error": row.error if failed and row else "",
        }
    return states
