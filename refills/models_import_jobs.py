"""A browser import's preview or import, run by a Celery worker (refills.import_jobs).

Imported from refills.models so Django sees the model as part of the refills app.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    """One run of ``run_import`` over a staged upload (clinic.PendingImport), in the background.

    The worker writes ``rows_checked`` and ``heartbeat_at`` while it works (on a
    connection of its own, so the page sees them while the import's transaction is
    open), and the outcome (``status`` done with ``result``) in the import's own
    transaction: a job is "done" exactly when its rows were written (or, for a
    preview, checked). A job whose worker died is found by its old heartbeat and
    reported as failed (``fail_stale``); it never writes half a file.
    """

    class Kind(models.TextChoices):
        PREVIEW = "preview", _("Preview")
        IMPORT = "import", _("Import")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    LIFETIME = timedelta(days=1)  # as long as the upload it reads (PendingImport.LIFETIME)

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # The staged upload; kept after an import as the job's record, gone with the upload otherwise.
    pending = models.ForeignKey("clinic.PendingImport", on_delete=models.SET_NULL, null=True, related_name="jobs")
    pending_key = models.CharField(max_length=64)  # the upload's key when the job was made
    filename = models.CharField(max_length=255)
    column_map = models.JSONField(default=dict, blank=True)  # the mapping the job was made with
    rows_total = models.PositiveIntegerField(null=True, blank=True)  # known once the file is read
    rows_checked = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)  # see refills.import_jobs.summarise
    failure = models.CharField(max_length=300, blank=True)  # why it failed, in clinic words
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="import_job_status_heartbeat")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} job {self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, self.rows_checked * 100 // self.rows_total)
