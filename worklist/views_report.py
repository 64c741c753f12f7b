"""The monthly accountability report page and its CSV (admins and managers)."""

import csv

from django.contrib import messages
from django.http import HttpResponse
from django.views.generic import TemplateView

from clinic.access import ClinicAccessMixin, Role
from clinic.audit import log_export
from clinic.spreadsheet_cells import spreadsheet_safe
from worklist.report import CSV_COLUMNS, Month, csv_rows, duration_text, month_report


class ReportView(ClinicAccessMixin, TemplateView):
    """?month=YYYY-MM (default this month in the clinic's zone); ?format=csv downloads it."""

    template_name = "worklist/report.html"
    role = Role.STAFF  # SPEC 6: staff view and export reports

    def chosen_month(self) -> tuple[Month, bool]:
        """The month asked for (else this month) and whether the request named a bad one."""
        text = self.request.GET.get("month", "")
        current = Month.of(self.today)
        if text == "":
            return current, False
        try:
            month = Month.parse(text)
        except ValueError as error:
            messages.error(self.request, f"Month: {error} Showing {current.first_day:%B %Y}.")
            return current, True
        if month.first_day > self.today:
            messages.error(
                self.request,
                f"Month: {month.first_day:%B %Y} has not begun, so there is no data yet. "
                f"Showing {current.first_day:%B %Y}.",
            )
            return current, True
        return month, False

    def get(self, request, *args, **kwargs):
        self.month, bad = self.chosen_month()
        self.report = month_report(self.clinic, self.month)
        if request.GET.get("format") == "csv" and not bad:  # never another month's file than asked
            return self.csv_response()
        return super().get(request, *args, **kwargs)

    def csv_response(self) -> HttpResponse:
        rows = list(csv_rows(self.report))
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="accountability-{self.clinic.slug}-{self.month}.csv"'
        writer = csv.writer(response, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow([spreadsheet_safe(row[column]) for column in CSV_COLUMNS])
        log_export(self.clinic, self.request.user, what="accountability", fmt="csv", rows=len(rows))
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        report = self.report
        context.update(
            report=report,
            month=self.month,
            month_value=str(self.month),
            previous_month=str(self.month.previous),
            next_month=str(self.month.next) if self.month.next.first_day <= self.today else None,
            members=[{"row": row, "median_wait": duration_text(row.median_time_to_claim)} for row in report.members],
        )
        return context
