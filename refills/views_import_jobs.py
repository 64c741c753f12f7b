"""The browser import's background jobs (refills.import_jobs): progress, status, result.

``/import/jobs/<id>/`` shows a job: while it runs, the rows checked out of the total and
a progress bar (the page refreshes itself without JavaScript; with it,
static/js/import-progress.js polls ``status/`` and reloads once the job is finished);
when done, the preview (and its Import button) or the import's outcome, with every
problem. Each request reads or writes a row or two: none waits for the file.
"""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from clinic.access import ClinicAccessMixin, Role
from clinic.models import PendingImport
from refills import import_jobs
from refills.importer_columns import Problem
from refills.models_import_jobs import ImportJob

REFRESH_SECONDS = 2  # the page without JavaScript


class ImportJobMixin(ClinicAccessMixin):
    """The job of the URL, of this clinic (else 404); admins only, as for the import."""

    role = Role.ADMIN

    def load_objects(self):
        self.job = self.get_scoped(ImportJob, pk=self.kwargs["pk"])
        # A worker that died is reported here too, not only by the periodic check.
        if not self.job.finished and import_jobs.fail_stale(jobs=ImportJob.objects.filter(pk=self.job.pk)):
            self.job.refresh_from_db()


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

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = self.job
        context.update(job=job, refresh_seconds=REFRESH_SECONDS, status=status_payload(job))
        summary = job.result if job.status == ImportJob.Status.DONE else None
        if summary is not None:
            problems = [Problem(*p) for p in summary["file_problems"] + summary["problems"]]
            changing = [
                {"line": line, "mrn": mrn, "actions_text": text} for line, mrn, text in summary["changing_rows"]
            ]
            pending = self.pending_to_confirm()
            context.update(
                summary=summary,
                problems=problems,
                counts=summary["counts"],
                changing_rows=changing[: import_jobs.CHANGING_ROWS_SHOWN],
                more_changing_rows=max(0, len(changing) - import_jobs.CHANGING_ROWS_SHOWN),
                pending=pending,
                can_import=job.kind == ImportJob.Kind.PREVIEW and summary["ok"] and pending is not None,
                mapped=list(job.column_map.items()),
            )
        return context

    def pending_to_confirm(self) -> PendingImport | None:
        """The upload this preview checked, if it is still the caller's, unchanged since."""
        job = self.job
        if job.kind != ImportJob.Kind.PREVIEW or job.created_by_id != self.request.user.pk:
            return None
        pending = PendingImport.objects.filter(
            pk=job.pending_id, key=job.pending_key, clinic=self.clinic, user=self.request.user
        ).first()
        if pending is None or pending.column_map != job.column_map:
            return None
        return pending

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


class ImportJobConfirmView(ImportJobMixin, View):
    """POST: import the file this preview checked, as a new job (all or nothing)."""

    def post(self, request, pk):
        job = self.job
        pending = PendingImport.objects.filter(
            pk=job.pending_id, key=job.pending_key, clinic=self.clinic, user=request.user
        ).first()
        # Only the member who uploaded the file imports it, with the key of the page they saw.
        if job.kind != ImportJob.Kind.PREVIEW or pending is None or request.POST.get("key") != pending.key:
            messages.info(request, _("Upload a caseload file to start an import."))
            return redirect("import_caseload")
        if job.status != ImportJob.Status.DONE or not (job.result or {}).get("ok"):
            messages.error(request, _("This file cannot be imported: see the problems of its preview."))
            return redirect("import_job", pk=job.pk)
        if pending.column_map != job.column_map:
            # The column names changed after this preview: preview again first.
            return redirect("import_preview")
        running = ImportJob.objects.filter(
            pending=pending, kind=ImportJob.Kind.IMPORT, status__in=(ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
        ).first()
        new = running or import_jobs.start(pending, ImportJob.Kind.IMPORT, request.user)
        return redirect("import_job", pk=new.pk)


def job_url(job: ImportJob) -> str:
    return reverse("import_job", kwargs={"pk": job.pk})
