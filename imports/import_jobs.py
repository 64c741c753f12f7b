"""The browser import's preview and import as background jobs (issue 13).

A request only stages the upload (clinic.PendingImport) and makes an ``ImportJob``; a
Celery worker runs the job through ``imports.importer.run_import``, the command's code
path, all or nothing as ever:

- the job's outcome (``done`` with its summary) is written in the import's own
  transaction, so "done" and the imported rows commit together, or neither does;
- while it works, the worker writes the rows checked and a heartbeat every
  ``PROGRESS_SECONDS`` on a database connection of its own (``ProgressWriter``): the
  import's transaction is still open, and another connection would not see its writes;
- a worker that dies leaves its transaction uncommitted (nothing written) and the job
  ``running``: the task acknowledges late, so the broker delivers it again, and a job
  whose heartbeat is older than ``IMPORT_JOB_STALE_SECONDS`` is reported failed (``fail_stale``,
  from the periodic task and whenever its page is viewed); never ``running`` for ever.

The summary stored on the job holds row numbers, MRNs, column names and messages (which
never repeat a cell's value), as the preview page always showed; never names or doses.
Logs hold job ids and counts only.
"""

import contextlib
import functools
import json
import logging
import os
import threading
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.audit import acting_as
from imports.columns import Problem
from imports.importer import CHANGED, CREATED, ENTITIES, ImportResult, run_import
from imports.models import ImportJob, PendingImport

logger = logging.getLogger(__name__)

Status = ImportJob.Status
PROGRESS_SECONDS = 0.5  # how often the worker writes the rows checked
HEARTBEAT_SECONDS = 20  # how often a running job says it is alive, whatever it is doing
# A running job whose heartbeat is older than settings.IMPORT_JOB_STALE_SECONDS belongs to
# a worker that died; a queued one no worker started within QUEUED_SECONDS is reported
# (the worker is not running).
QUEUED_SECONDS = 1800
# The longest a job may run (32,739 rows took 3-5 minutes on a slow, shared machine); below
# the broker's visibility timeout, so a running job is never handed to a second worker.
TIME_LIMIT = settings.IMPORT_JOB_TIME_LIMIT
MAX_ATTEMPTS = 3  # deliveries of one job (a worker dying each time) before it is failed
CHANGING_ROWS_SHOWN = 1000  # rows listed on the page; the counts cover every row

STOPPED = _("The worker running this job stopped before it finished. Nothing was written: start it again.")
NOT_STARTED = _("No worker started this job. Nothing was written: check that the Celery worker is running.")
UPLOAD_GONE = _("The uploaded file is no longer there (discarded, imported or expired): upload it again.")
CRASHED = _("The job stopped on an unexpected error. Nothing was written: try again, or ask your administrator.")
TOO_LONG = _("The job took longer than its time limit. Nothing was written: split the file and try again.")


# Starting a job (web request) ------------------------------------------------------------


def start(pending: PendingImport, kind: str, user) -> ImportJob:
    """Make a job for the staged upload and hand it to the worker once it is committed."""
    job = ImportJob.objects.create(
        clinic=pending.clinic,
        created_by=user,
        kind=kind,
        pending=pending,
        pending_key=pending.key,
        filename=pending.filename,
        column_map=pending.column_map,
    )
    schedule(job.pk)
    job.refresh_from_db()  # a worker may have taken it already
    return job


def schedule(job_id: int) -> None:
    """Enqueue the job once the transaction that made it commits (at once outside one)."""
    enqueue = functools.partial(enqueue_job, job_id)
    enqueue.__qualname__ = "enqueue_job"
    transaction.on_commit(enqueue)


def enqueue_job(job_id: int) -> None:
    """Send the job to the worker; if the broker cannot take it, report the job failed now."""
    try:
        run_import_job.delay(job_id)
    except Exception:  # the broker is down or misconfigured: say so rather than wait
        logger.warning("could not enqueue import job %s", job_id, exc_info=True)
        fail(job_id, NOT_STARTED)


def latest_preview(pending: PendingImport) -> ImportJob | None:
    """The newest preview job of this upload as it is mapped now (a failed one included)."""
    job = ImportJob.objects.filter(pending=pending, kind=ImportJob.Kind.PREVIEW).order_by("-created_at", "-pk").first()
    if job is None or job.column_map != pending.column_map or job.pending_key != pending.key:
        return None
    return job


def preview_for(pending: PendingImport, user) -> ImportJob:
    """The preview job of this upload as it is mapped now: the one already made (unless it
    failed: a reload tries again), or a new one."""
    job = latest_preview(pending)
    if job is not None and job.status != Status.FAILED:
        return job
    return start(pending, ImportJob.Kind.PREVIEW, user)


# Running a job (worker) ------------------------------------------------------------------


class ProgressWriter:
    """``progress(rows_checked, rows_total)`` for run_import: writes them and the heartbeat
    at most every ``PROGRESS_SECONDS``, where the page can read them while the import's
    transaction is open:

    - PostgreSQL: on the job's row, over a connection of its own, in autocommit;
    - SQLite (`make run`): in a small file beside the database (``progress_path``). SQLite
      has one writer: a write by another connection while the import reads would make the
      import's own first write fail (its snapshot is stale), so nothing else writes.

    A failed write is skipped: progress is for the page, never a reason to stop the import.
    """

    def __init__(self, job_id: int, every: float = PROGRESS_SECONDS):
        self.job_id, self.every = job_id, every
        self.last = 0.0
        self.writes = self.skipped = 0
        self.connection = None
        self.to_file = connection.vendor == "sqlite"

    def __call__(self, checked: int, total: int) -> None:
        now = time.monotonic()
        if checked not in (0, total) and now - self.last < self.every:
            return
        self.last = now
        self.write(checked, total)

    def _connect(self):
        if self.connection is None:
            self.connection = connections.create_connection(DEFAULT_DB_ALIAS)  # not the import's connection
            self.connection.ensure_connection()
            if self.connection.vendor == "postgresql":
                with self.connection.cursor() as cursor:
                    cursor.execute("SET statement_timeout = 2000")
        return self.connection

    def write(self, checked: int, total: int) -> None:
        try:
            if self.to_file:
                write_progress_file(self.job_id, checked, total)
            else:
                db = self._connect()
                table = db.ops.quote_name(ImportJob._meta.db_table)
                with db.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {table} SET rows_checked = %s, rows_total = %s, heartbeat_at = %s "  # noqa: S608 (our table name)
                        "WHERE id = %s AND status = %s",
                        [checked, total, db.ops.adapt_datetimefield_value(timezone.now()), self.job_id, Status.RUNNING],
                    )
            self.writes += 1
        except (DatabaseError, OSError):
            self.skipped += 1
            logger.debug("import job %s: progress not written this time", self.job_id, exc_info=True)
            self.close()  # a fresh connection next time

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(DatabaseError):
                self.connection.close()
            self.connection = None


def progress_path(job_id: int) -> Path:
    return Path(settings.VAR_DIR) / "import-progress" / f"{job_id}.json"


def write_progress_file(job_id: int, checked: int, total: int) -> None:
    path = progress_path(job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
    partial.write_text(json.dumps({"rows_checked": checked, "rows_total": total, "heartbeat": time.time()}))
    os.replace(partial, path)  # the reader sees the old or the new figures, never half


def read_progress_file(job_id: int) -> dict | None:
    try:
        return json.loads(progress_path(job_id).read_text())
    except (OSError, ValueError):
        return None


def with_progress(job: ImportJob) -> ImportJob:
    """The job with the figures its worker wrote in a progress file (SQLite), if any."""
    if job.status == Status.RUNNING:
        figures = read_progress_file(job.pk)
        if figures is not None:
            job.rows_checked, job.rows_total = figures["rows_checked"], figures["rows_total"]
            with contextlib.suppress(OSError):  # the heartbeat thread touches the file
                beat = max(figures["heartbeat"], progress_path(job.pk).stat().st_mtime)
                job.heartbeat_at = datetime.fromtimestamp(beat, tz=UTC)
    return job


def remove_progress_file(job_id: int) -> None:
    with contextlib.suppress(OSError):
        progress_path(job_id).unlink()


class Heartbeat(threading.Thread):
    """Beats every ``HEARTBEAT_SECONDS`` while the job runs, also in the long steps between
    rows (reading the file, writing tens of thousands of rows at the end), so that a live
    worker is never taken for a dead one. Its own connection (PostgreSQL) or a touch of the
    progress file (SQLite); a beat that fails is skipped."""

    def __init__(self, job_id: int, every: float | None = None):
        super().__init__(name=f"import-job-{job_id}-heartbeat", daemon=True)
        self.job_id, self.every = job_id, every or HEARTBEAT_SECONDS
        self.stopped = threading.Event()
        self.to_file = connection.vendor == "sqlite"

    def run(self) -> None:
        db = None
        try:
            while not self.stopped.wait(self.every):
                try:
                    if self.to_file:
                        path = progress_path(self.job_id)
                        if path.exists():
                            os.utime(path)
                        continue
                    if db is None:
                        db = connections.create_connection(DEFAULT_DB_ALIAS)
                        db.ensure_connection()
                        with db.cursor() as cursor:
                            cursor.execute("SET statement_timeout = 2000")
                    table = db.ops.quote_name(ImportJob._meta.db_table)
                    with db.cursor() as cursor:
                        cursor.execute(
                            f"UPDATE {table} SET heartbeat_at = %s WHERE id = %s AND status = %s",  # noqa: S608 (our table)
                            [db.ops.adapt_datetimefield_value(timezone.now()), self.job_id, Status.RUNNING],
                        )
                except (DatabaseError, OSError):
                    logger.debug("import job %s: heartbeat skipped", self.job_id, exc_info=True)
                    if db is not None:
                        with contextlib.suppress(DatabaseError):
                            db.close()
                        db = None
        finally:
            if db is not None:
                with contextlib.suppress(DatabaseError):
                    db.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def claim(job_id: int) -> ImportJob | None:
    """Mark the job running (a new attempt); None if it is finished or gone."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status__in=(Status.QUEUED, Status.RUNNING)).update(
        status=Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
    )
    if not claimed:
        return None
    return ImportJob.objects.select_related("clinic", "created_by", "pending").get(pk=job_id)


def fail(job_id: int, message: str) -> bool:
    """Report the job failed (unless it finished meanwhile)."""
    now = timezone.now()
    return bool(
        ImportJob.objects.filter(pk=job_id, status__in=(Status.QUEUED, Status.RUNNING)).update(
            status=Status.FAILED, failure=str(message)[:300], finished_at=now
        )
    )


def run_job(job_id: int) -> str:
    """Run the job once; returns its final status (or "skipped" if it was not runnable)."""
    use_wal()
    job = claim(job_id)
    if job is None:
        return "skipped"
    if job.attempts > MAX_ATTEMPTS:
        fail(job_id, STOPPED)
        return Status.FAILED
    pending = job.pending
    if pending is None or pending.key != job.pending_key:
        fail(job_id, UPLOAD_GONE)
        return Status.FAILED
    progress = ProgressWriter(job_id)
    heartbeat = Heartbeat(job_id)
    heartbeat.start()
    dry_run = job.kind == ImportJob.Kind.PREVIEW
    started = time.monotonic()
    try:
        with transaction.atomic():
            # The actor of every audit entry is the member who started the job.
            with acting_as(job.created_by):
                result = run_import(
                    job.clinic,
                    bytes(pending.content),
                    filename=job.filename,
                    dry_run=dry_run,
                    column_map=job.column_map,
                    progress=progress,
                )
            now = timezone.now()
            ImportJob.objects.filter(pk=job_id).update(
                status=Status.DONE,
                result=summarise(result),
                rows_total=len(result.rows),
                rows_checked=len(result.rows),
                heartbeat_at=now,
                finished_at=now,
            )
            if result.applied:
                # The upload has done its work: it goes with the import, in its transaction.
                PendingImport.objects.filter(pk=pending.pk).delete()
    except Exception as error:
        # The kind and where, never the message: a database error's text can quote a cell.
        logger.error(
            "import job %s failed: %s at\n%s",
            job_id,
            type(error).__name__,
            "".join(traceback.format_tb(error.__traceback__)),
        )
        try:
            fail(job_id, TOO_LONG if type(error).__name__ == "SoftTimeLimitExceeded" else CRASHED)
        except DatabaseError as unreachable:  # the database is away: the stale check reports it later
            logger.error("import job %s: could not record the failure (%s)", job_id, type(unreachable).__name__)
        return Status.FAILED
    finally:
        heartbeat.stop()
        progress.close()
        remove_progress_file(job_id)
    logger.info(
        "import job %s (%s) done: %d rows in %.1f s, %s; progress written %d times, skipped %d",
        job_id,
        job.kind,
        len(result.rows),
        time.monotonic() - started,
        "applied" if result.applied else "not applied" if not dry_run else "preview",
        progress.writes,
        progress.skipped,
    )
    return Status.DONE


def use_wal() -> None:
    """SQLite (`make run`): write-ahead logging, so the page can read the job's progress
    while the worker's import transaction is open (persistent in the file)."""
    if connection.vendor != "sqlite" or connection.is_in_memory_db() or connection.in_atomic_block:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
    except DatabaseError:  # another connection holds a lock: the next job tries again
        logger.debug("could not switch SQLite to WAL", exc_info=True)


def summarise(result: ImportResult) -> dict:
    """What the page shows of a finished run, as JSON: counts, the rows that change
    something, every problem and warning."""
    from imports.views import actions_text

    counts = result.counts()
    changing, unchanged = [], 0
    for row in result.rows:
        text = actions_text(row)
        if text:
            changing.append([row.line, row.mrn, text])
        elif not row.problems:
            unchanged += 1
    return {
        "ok": result.ok,
        "applied": result.applied,
        "dry_run": result.dry_run,
        "rows": len(result.rows),
        "file_problems": [[p.line, p.column, p.message] for p in result.file_problems],
        "problems": [[p.line, p.column, p.message] for row in result.rows for p in row.problems],
        "warnings": [[w.line, w.column, w.message] if isinstance(w, Problem) else str(w) for w in result.warnings],
        "rows_with_problems": sum(1 for row in result.rows if row.problems),
        "rows_with_warnings": sum(1 for row in result.rows if row.warnings),
        "counts": [[entity, counts[entity][CREATED], counts[entity][CHANGED]] for entity in ENTITIES],
        "changing_rows": changing,
        "unchanged_count": unchanged,
    }


# Housekeeping -----------------------------------------------------------------------------


def fail_stale(now=None, jobs=None) -> int:
    """Report failed the running jobs without a heartbeat for IMPORT_JOB_STALE_SECONDS and the
    queued ones no worker started for QUEUED_SECONDS; returns how many.

    It only reads unless a job is stale: the job page calls it on every view, and on SQLite
    a write would wait for (and could break) the import the worker has open.
    """
    now = now or timezone.now()
    jobs = ImportJob.objects.all() if jobs is None else jobs
    cutoff = now - timedelta(seconds=settings.IMPORT_JOB_STALE_SECONDS)
    # A worker writing its progress to a file (SQLite) beats there, not on the row.
    dead = [
        job.pk
        for job in jobs.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff).only("pk", "status", "heartbeat_at")
        if with_progress(job).heartbeat_at < cutoff
    ]
    never = list(
        jobs.filter(status=Status.QUEUED, created_at__lt=now - timedelta(seconds=QUEUED_SECONDS)).values_list(
            "pk", flat=True
        )
    )
    failed = 0
    if dead:
        failed += ImportJob.objects.filter(pk__in=dead, status=Status.RUNNING, heartbeat_at__lt=cutoff).update(
            status=Status.FAILED, failure=str(STOPPED), finished_at=now
        )
        for job_id in dead:
            remove_progress_file(job_id)
    if never:
        failed += ImportJob.objects.filter(pk__in=never, status=Status.QUEUED).update(
            status=Status.FAILED, failure=str(NOT_STARTED), finished_at=now
        )
    return failed


def purge(now=None) -> int:
    """Delete jobs past their lifetime: their results list MRNs."""
    now = now or timezone.now()
    deleted, _ = ImportJob.objects.filter(created_at__lt=now - ImportJob.LIFETIME).delete()
    return deleted


# Celery tasks -----------------------------------------------------------------------------


@shared_task(
    name="refills.import_jobs.run_import_job",
    acks_late=True,  # a worker that dies before the end leaves the task to be delivered again
    reject_on_worker_lost=True,
    ignore_result=True,
    time_limit=TIME_LIMIT + 30,
    soft_time_limit=TIME_LIMIT,
)
def run_import_job(job_id: int) -> str:
    return run_job(job_id)


@shared_task(name="refills.import_jobs.check_import_jobs", acks_late=True, ignore_result=True)
def check_import_jobs() -> int:
    """Periodic: stale jobs reported failed, old ones deleted."""
    failed = fail_stale()
    deleted = purge()
    if failed or deleted:
        logger.info("import jobs: %d reported failed (worker gone), %d expired deleted", failed, deleted)
    return failed
