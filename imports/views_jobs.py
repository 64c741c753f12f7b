"""The browser import's background jobs (imports.import_jobs): progress, status, result.

``/import/jobs/<id>/`` shows a job: while it runs, the rows checked out of the total and
a progress bar (the page refreshes itself without JavaScript; with it,
static/js/import-progress.js polls ``status/`` and reloads once the job is finished);
when done, the preview (refills/import/preview.html, with its Import button unless no
row would create or change anything) or the import's outcome, with every problem. Each
request reads or writes a row or two: none waits for the file.
"""

from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.views import View
from django.views.generic import TemplateView

from clinic.access import ClinicAccessMixin, Role
from imports import import_jobs
from imports.columns import Problem
from imports.models import ImportJob, PendingImport

REFRESH_SECONDS = 2  # the page without JavaScript
PREVIEW_TEMPLATE = "refills/import/preview.html"


class StoredResult:
    """A finished job's summary read back with the attributes of imports.importer.ImportResult
    that the preview page uses."""

    def __init__(self, summary: dict):
        self.summary = summary
        self.file_problems = [Problem(*p) for p in summary["file_problems"]]
        self.problems = self.file_problems + [Problem(*p) for p in summary["problems"]]
        self.warnings = [Problem(*w) if isinstance(w, list) else w for w in summary["warnings"]]
        self.ok = summary["ok"]
        self.applied = summary["applied"]
        self.dry_run = summary["dry_run"]
        self.rows = range(summary["rows"])  # its length is what the page shows
        self.rows_with_problems = summary.get("rows_with_problems", 0)
        self.rows_with_warnings = summary.get("rows_with_warnings", 0)


def nothing_to_do(summary: dict) -> bool:
    """No problem, and no row creates or changes any record (ImportResult.counts() all 0):
    the file matches what is recorded, so there is nothing to import (or nothing was changed)."""
    if not summary["ok"] or summary["file_problems"]:
        return False
    return not any(created or changed for _entity, created, changed in summary["counts"])


def result_context(job: ImportJob) -> dict:
    """What preview.html and job.html show of a finished job."""
    summary = job.result
    changing = [{"line": line, "mrn": mrn, "actions_text": text} for line, mrn, text in summary["changing_rows"]]
    return {
        "job": job,
        "summary": summary,
        "result": StoredResult(summary),
        "counts": [tuple(c) for c in summary["counts"]],
        "changing_rows": changing[: import_jobs.CHANGING_ROWS_SHOWN],
        "more_changing_rows": max(0, len(changing) - import_jobs.CHANGING_ROWS_SHOWN),
        "unchanged_count": summary["unchanged_count"],
        # The rows without a problem: what "the valid rows would do" counts (none: nothing can be imported).
        "valid_rows": summary["rows"] - summary.get("rows_with_problems", 0),
        "nothing_to_do": nothing_to_do(summary),
        "mapped": list(job.column_map.items()),
    }


def render_preview(request, job: ImportJob, pending: PendingImport | None, extra: dict) -> TemplateResponse:
    """A finished preview, on the page the import always showed (its Import button posts
    to import_confirm, which starts the import job)."""
    context = {**extra, **result_context(job), "pending": pending}
    response = TemplateResponse(request, PREVIEW_TEMPLATE, context)
    response["Cache-Control"] = "no-store"
    return response


class ImportJobMixin(ClinicAccessMixin):
    """The job of the URL, of this clinic (else 404); admins only, as for the import."""

    role = Role.ADMIN

    def load_objects(self):
        self.job = import_jobs.with_progress(self.get_scoped(ImportJob, pk=self.kwargs["pk"]))
        # A worker that died is reported here too, not only by the periodic check.
        if not self.job.finished and import_jobs.fail_stale(jobs=ImportJob.objects.filter(pk=self.job.pk)):
            self.job.refresh_from_db()
            import_jobs.with_progress(self.job)


def status_payload(job: ImportJob) -> dict:
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "status_text": str(job.get_status_display()),
        "finished": job.finished,
        "rows_checked": job.rows_checked,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "failure": job.failure,
    }


class ImportJobStatusView(ImportJobMixin, View):
    """GET: the job's progress as JSON, for the page's script."""

    def get(self, request, pk):
        response = JsonResponse(status_payload(self.job))
        response["Cache-Control"] = "no-store"
        return response


class ImportJobView(ImportJobMixin, TemplateView):
    template_name = "refills/import/job.html"

    def get(self, request, *args, **kwargs):
        job = self.job
        if job.kind == ImportJob.Kind.PREVIEW and job.status == ImportJob.Status.DONE:
            return render_preview(request, job, self.pending_to_confirm(), self.get_context_data(**kwargs))
        response = super().get(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = self.job
        context.update(job=job, refresh_seconds=REFRESH_SECONDS, status=status_payload(job))
        if job.status == ImportJob.Status.DONE:
            context.update(result_context(job))
        return context

    def pending_to_confirm(self) -> PendingImport | None:
        """The upload this preview checked, if it is still the caller's and mapped as it was."""
        job = self.job
        if job.created_by_id != self.request.user.pk:
            return None
        pending = PendingImport.objects.filter(
            pk=job.pending_id, key=job.pending_key, clinic=self.clinic, user=self.request.user
        ).first()
        if pending is None or pending.column_map != job.column_map:
            return None
        return pending
