"""The import's staging rows: an uploaded file between its steps (PendingImport), a clinic's
remembered column mappings, and a browser import's preview or import run by a Celery worker
(ImportJob, imports.import_jobs).

They moved here from the clinic and refills apps; their tables keep their names
(``db_table``), so an installation upgrades by ``migrate`` without touching a table.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.scoping import ClinicScope

IGNORE = ""  # a mapped column of "" means: ignore this header


class ColumnMapping(models.Model):
    """A header of a clinic's own spreadsheet and the caseload column it means (or ignore)."""

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.CASCADE, related_name="column_mappings")
    header = models.CharField(_("header in the file"), max_length=200)  # stripped and lower-cased
    column = models.CharField(_("caseload column"), max_length=40, blank=True)  # "" = ignore
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "clinic_columnmapping"  # the table of the code before the move (issue 14)
        ordering = ["header"]
        constraints = [models.UniqueConstraint(fields=["clinic", "header"], name="column_mapping_one_per_header")]

    def __str__(self) -> str:
        return f"{self.header} -> {self.column or '(ignore)'}"

    @classmethod
    def for_clinic(cls, clinic) -> dict[str, str]:
        return dict(cls.objects.filter(clinic=clinic).values_list("header", "column"))

    @classmethod
    def remember(cls, clinic, mapping: dict[str, str]) -> None:
        for header, column in mapping.items():
            if len(header) > cls._meta.get_field("header").max_length:
                continue  # used for this upload, too long to remember
            cls.objects.update_or_create(clinic=clinic, header=header, defaults={"column": column})


class PendingImportQuerySet(models.QuerySet):
    def stale(self):
        return self.filter(created_at__lt=timezone.now() - PendingImport.LIFETIME)


class PendingImport(models.Model):
    """An uploaded file between the upload, mapping, preview and confirm steps.

    Kept server-side (never a client-sent path) and found through the key held in the
    uploader's session, checked against the clinic and user; deleted once imported,
    discarded or a day old.
    """

    LIFETIME = timedelta(days=1)
    # A 50,000-row file of the template's columns is about 8 MB; the import runs in the
    # background whatever its size (imports.import_jobs).
    MAX_MEGABYTES = 16
    MAX_BYTES = MAX_MEGABYTES * 1024 * 1024

    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64, unique=True, default=secrets.token_urlsafe)
    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    column_map = models.JSONField(default=dict, blank=True)  # header -> column or "" (ignore)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PendingImportQuerySet.as_manager()

    class Meta:
        db_table = "clinic_pendingimport"  # the table of the code before the move (issue 14)

    def __str__(self) -> str:
        return f"Pending import {self.filename} ({self.created_at:%Y-%m-%d %H:%M})"


class ImportJob(models.Model):
    """One run of ``run_import`` over a staged upload (imports.PendingImport), in the background.

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
    pending = models.ForeignKey("imports.PendingImport", on_delete=models.SET_NULL, null=True, related_name="jobs")
    pending_key = models.CharField(max_length=64)  # the upload's key when the job was made
    filename = models.CharField(max_length=255)
    column_map = models.JSONField(default=dict, blank=True)  # the mapping the job was made with
    rows_total = models.PositiveIntegerField(null=True, blank=True)  # known once the file is read
    rows_checked = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)  # see imports.import_jobs.summarise
    failure = models.CharField(max_length=300, blank=True)  # why it failed, in clinic words
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    clinic_scope = ClinicScope("clinic")

    class Meta:
        db_table = "refills_importjob"  # the table of the code before the move (issue 14)
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
