"""Import in the browser (clinic admins) and the whole-clinic export (every member).

Upload -> (mapping, when the headers are the clinic's own) -> preview -> confirm.
The uploaded file waits server-side in a PendingImport row whose random key is held in
the uploader's session and checked against the clinic and user; the preview and the
import are both imports.importer.run_import, the command's code path, so what the
preview shows is what confirming does.
"""

import csv
import io
from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView

from clinic.access import ClinicAccessMixin, Role
from clinic.audit import log_export
from imports import export, import_jobs
from imports import views_jobs as job_views
from imports.columns import COLUMNS, REQUIRED_COLUMNS, file_kind, header_key, read_header, suggest_column
from imports.importer import CHANGED, CREATED, ENTITIES
from imports.models import ColumnMapping, ImportJob, PendingImport

SESSION_KEY = "pending_import"
ALLOWED_SUFFIXES = (".csv", ".xlsx")
IGNORE_CHOICE = "ignore"
MAX_MAPPED_HEADERS = 40  # unknown headers offered for mapping; the others are ignored (mappable_headers)


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Caseload file (CSV or XLSX)"),
        help_text=gettext_lazy(
            "Up to 16 MB (about 100,000 rows). Columns as in the template; other column names can be mapped next."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(ALLOWED_SUFFIXES):
            raise forms.ValidationError(_("Choose a .csv or .xlsx file."))
        if upload.size > PendingImport.MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into several files.")
                % {"size": f"{upload.size / 1024 / 1024:.1f}", "limit": PendingImport.MAX_MEGABYTES}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload


class PendingImportMixin(ClinicAccessMixin):
    """Finds the caller's pending upload (this clinic, this user, not expired), else back to the upload page."""

    role = Role.ADMIN

    def pending(self) -> PendingImport | None:
        key = self.request.session.get(SESSION_KEY)
        if not key:
            return None
        return PendingImport.objects.filter(
            key=key,
            clinic=self.clinic,
            user=self.request.user,
            created_at__gte=timezone.now() - PendingImport.LIFETIME,
        ).first()

    def nothing_pending(self):
        messages.info(self.request, _("Upload a caseload file to start an import."))
        return redirect("import_caseload")


def mappable_headers(unknown: list[str]) -> tuple[list[str], int]:
    """The unknown headers offered on the mapping page, and how many others are ignored.

    Beyond MAX_MAPPED_HEADERS, the headers that look like a caseload column come first (so
    they lead the page), then the others in file order: a file with thousands of extra
    columns gets a usable page (and a POST within Django's DATA_UPLOAD_MAX_NUMBER_FIELDS)
    instead of one select per column.
    """
    if len(unknown) <= MAX_MAPPED_HEADERS:
        return unknown, 0
    likely = [raw for raw in unknown if suggest_column(raw)]
    others = [raw for raw in unknown if not suggest_column(raw)]
    offered = (likely + others)[:MAX_MAPPED_HEADERS]
    return offered, len(unknown) - len(offered)


def unknown_headers(headers: list[str]) -> list[str]:
    """The header cells that are not caseload columns (each once, as written)."""
    seen, unknown = set(), []
    for raw in headers:
        key = header_key(raw)
        if key and key not in COLUMNS and key not in seen:
            seen.add(key)
            unknown.append(raw.strip())
    return unknown


class ImportUploadView(ClinicAccessMixin, FormView):
    role = Role.ADMIN
    template_name = "refills/import/upload.html"
    form_class = UploadForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["columns"] = [(column, column in REQUIRED_COLUMNS) for column in COLUMNS]
        return context

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        content = upload.read()
        # One pending file per member and clinic; expired ones of anyone go too.
        PendingImport.objects.filter(clinic=self.clinic, user=self.request.user).delete()
        PendingImport.objects.stale().delete()
        headers, problems = read_header(content, file_kind(upload.name))
        if problems:
            for problem in problems:
                form.add_error("file", str(problem))
            return self.form_invalid(form)
        remembered = ColumnMapping.for_clinic(self.clinic)
        unknown, _ignored = mappable_headers(unknown_headers(headers))
        column_map = {header_key(raw): remembered[header_key(raw)] for raw in unknown if header_key(raw) in remembered}
        pending = PendingImport.objects.create(
            clinic=self.clinic,
            user=self.request.user,
            filename=upload.name[:255],
            content=content,
            column_map=column_map,
        )
        self.request.session[SESSION_KEY] = pending.key
        if any(header_key(raw) not in column_map for raw in unknown):
            return redirect("import_mapping")
        if column_map:
            messages.info(self.request, _("This clinic's remembered column names were applied."))
        return redirect("import_preview")


class MappingForm(forms.Form):
    """One select per header that is not a caseload column: a column, or ignore."""

    def __init__(self, *args, headers: list[str], initial_map: dict[str, str], known: set[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        self.known = known  # columns the file already has under their own name
        choices = [(IGNORE_CHOICE, _("ignore this column"))] + [(c, c) for c in COLUMNS]
        for index, raw in enumerate(headers):
            key = header_key(raw)
            initial = initial_map.get(key) if key in initial_map else suggest_column(raw)
            self.fields[f"header_{index}"] = forms.ChoiceField(
                label=raw, choices=choices, initial=initial or IGNORE_CHOICE, required=True
            )

    def clean(self):
        cleaned = super().clean()
        used: dict[str, str] = {}
        for index, raw in enumerate(self.headers):
            column = cleaned.get(f"header_{index}")
            if not column or column == IGNORE_CHOICE:
                continue
            if column in self.known:
                self.add_error(f"header_{index}", _("The file already has a %(column)s column.") % {"column": column})
            elif column in used:
                self.add_error(
                    f"header_{index}",
                    _("%(column)s is already chosen for '%(other)s'.") % {"column": column, "other": used[column]},
                )
            else:
                used[column] = raw
        return cleaned

    def mapping(self) -> dict[str, str]:
        """header key -> column, "" for ignored."""
        result = {}
        for index, raw in enumerate(self.headers):
            column = self.cleaned_data[f"header_{index}"]
            result[header_key(raw)] = "" if column == IGNORE_CHOICE else column
        return result


class ImportMappingView(PendingImportMixin, FormView):
    template_name = "refills/import/mapping.html"
    form_class = MappingForm

    def get(self, request, *args, **kwargs):
        if not self.load_pending():
            return self.nothing_pending()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if not self.load_pending():
            return self.nothing_pending()
        return super().post(request, *args, **kwargs)

    def load_pending(self) -> bool:
        self.pending_import = self.pending()
        if self.pending_import is None:
            return False
        headers, _problems = read_header(bytes(self.pending_import.content), file_kind(self.pending_import.filename))
        self.headers = headers
        self.unknown, self.ignored_count = mappable_headers(unknown_headers(headers))
        self.known = {header_key(raw) for raw in headers if header_key(raw) in COLUMNS}
        return True

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        initial_map = {**ColumnMapping.for_clinic(self.clinic), **self.pending_import.column_map}
        return {**kwargs, "headers": self.unknown, "initial_map": initial_map, "known": self.known}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        missing = [c for c in REQUIRED_COLUMNS if c not in self.known]
        context.update(
            pending=self.pending_import,
            known=sorted(self.known),
            missing_required=missing,
            columns=COLUMNS,
            ignored_count=self.ignored_count,
        )
        return context

    def form_valid(self, form):
        mapping = form.mapping()
        self.pending_import.column_map = mapping
        self.pending_import.save(update_fields=["column_map"])
        ColumnMapping.remember(self.clinic, mapping)
        messages.success(self.request, _("Column names saved for this clinic's next imports."))
        return redirect("import_preview")


class ImportPreviewView(PendingImportMixin, TemplateView):
    """The dry run: what would be created and changed, and every problem; nothing written."""

    template_name = "refills/import/preview.html"

    def get(self, request, *args, **kwargs):
        self.pending_import = self.pending()
        if self.pending_import is None:
            return self.nothing_pending()
        # The check runs as a background job (imports.import_jobs): until it is done, its
        # page shows the progress; done, the preview is shown here and on that page.
        job = import_jobs.preview_for(self.pending_import, request.user)
        if job.status != ImportJob.Status.DONE:
            return redirect("import_job", pk=job.pk)
        return job_views.render_preview(request, job, self.pending_import, self.get_context_data(**kwargs))


def actions_text(row) -> str:
    """What a row creates or changes, e.g. "pump changed (alarm_volume_ml)"; never its values."""
    parts = []
    for entity in ENTITIES:
        action = row.actions.get(entity)
        if action in (CREATED, CHANGED):
            fields = row.changed_fields.get(entity)
            parts.append(f"{entity} {action}" + (f" ({', '.join(fields)})" if fields else ""))
    return ", ".join(parts)


class ImportConfirmView(PendingImportMixin, View):
    """POST: import the pending file all or nothing, as a background job (or discard it)."""

    def post(self, request):
        pending = self.pending()
        # The form carries the key it previewed: a newer upload in another tab is not imported blind.
        if pending is None or request.POST.get("key") != pending.key:
            return self.nothing_pending()
        if request.POST.get("action") == "discard":
            PendingImport.objects.filter(pk=pending.pk).delete()
            request.session.pop(SESSION_KEY, None)
            messages.info(request, _("The uploaded file was discarded; nothing was imported."))
            return redirect("import_caseload")
        # The import runs as a background job (imports.import_jobs) on the same code path,
        # all or nothing, with this member as the actor; only a file whose preview found no
        # problem is started (the job checks every row again).
        preview = import_jobs.latest_preview(pending)
        if preview is None or preview.status != ImportJob.Status.DONE or not preview.result["ok"]:
            messages.error(request, _("Nothing was imported: the preview of this file lists problems to fix first."))
            return redirect("import_preview")
        running = ImportJob.objects.filter(
            pending=pending, kind=ImportJob.Kind.IMPORT, status__in=(ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
        ).first()
        job = running or import_jobs.start(pending, ImportJob.Kind.IMPORT, request.user)
        request.session.pop(SESSION_KEY, None)
        return redirect("import_job", pk=job.pk)


class ImportTemplateView(ClinicAccessMixin, View):
    """A CSV with the header row and one invented example row, dated around today."""

    role = Role.ADMIN

    def get(self, request):
        today = self.today
        example = {
            "mrn": "EX0001",
            "first_name": "Example",
            "last_name": "Patient",
            "date_of_birth": "1980-05-17",
            "email": "patient@example.invalid",
            "phone": "0100 000 0000",
            "reminders_opt_in": "yes",
            "pump_model": "synchromed-ii-20",
            "serial_number": "NGP0000001",
            "reservoir_ml": "",
            "alarm_volume_ml": "",
            "implant_date": (today - timedelta(days=730)).isoformat(),
            "eri_date": "",
            "last_refill_date": (today - timedelta(days=30)).isoformat(),
            "volume_after_refill_ml": "20",
            "concentration_mcg_ml": "2000",
            "daily_dose_mcg": "400",
            "bolus_allowance_mcg": "0",
            "compounded": "no",
            "next_appointment": datetime.combine(today + timedelta(days=30), time(10, 0)).strftime("%Y-%m-%d %H:%M"),
        }
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        writer.writerow([example[column] for column in COLUMNS])
        response = HttpResponse(out.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="caseload-template.csv"'
        return response


class ClinicExportView(ClinicAccessMixin, View):
    """GET ?format=csv|xlsx: the whole clinic in the import format, recorded in the audit trail."""

    role = Role.STAFF

    def get(self, request):
        fmt = request.GET.get("format", "csv")
        if fmt not in ("csv", "xlsx"):
            fmt = "csv"
        rows = export.export_rows(self.clinic)
        log_export(self.clinic, request.user, what="clinic caseload (import format)", fmt=fmt, rows=len(rows))
        stamp = self.today.isoformat()
        if fmt == "xlsx":
            body = export.to_xlsx(rows)
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            body = export.to_csv(rows)
            content_type = "text/csv; charset=utf-8"
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{self.clinic.slug}-caseload-{stamp}.{fmt}"'
        response["Cache-Control"] = "no-store"
        return response
