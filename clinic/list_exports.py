"""Paging and exporting a list page, for every app's lists (dashboard, screening...).

``LoggedExportMixin`` offers CSV and XLSX of the filtered rows (all pages), written through
``SafeTableExport`` so no text cell can run as a spreadsheet formula, and records each
export in the audit trail; ``BoundedPaginator`` keeps ``?per_page=`` to 1-500 rows.
"""

import django_tables2 as tables
from django.core.paginator import Paginator
from django_tables2.export import ExportMixin
from tablib import Dataset

from clinic.audit import log_export
from clinic.spreadsheet_cells import spreadsheet_safe

MAX_PER_PAGE = 500


class BoundedPaginator(Paginator):
    """django-tables2 takes ?per_page= from the URL unchecked: a negative or huge number
    crashed the paginator or the query, so it is kept to 1-500 rows."""

    def __init__(self, object_list, per_page, *args, **kwargs):
        super().__init__(object_list, min(max(int(per_page), 1), MAX_PER_PAGE), *args, **kwargs)


# Spreadsheet programs run a cell that starts like a formula: every export neutralises it
# through the one function, which the import undoes (clinic/spreadsheet_cells.py).


class SafeTableExport(tables.export.TableExport):
    """TableExport whose text cells cannot be read as spreadsheet formulas."""

    def table_to_dataset(self, table, exclude_columns, dataset_kwargs=None):
        dataset = super().table_to_dataset(table, exclude_columns, dataset_kwargs)
        safe = Dataset(title=dataset.title, headers=dataset.headers)
        for row in dataset:
            safe.append([spreadsheet_safe(value) for value in row])
        return safe


class LoggedExportMixin(ExportMixin):
    """CSV and XLSX of the filtered rows (all pages), each export written to the audit trail."""

    export_formats = ("csv", "xlsx")
    export_class = SafeTableExport
    table_pagination = {"per_page": 50, "paginator_class": BoundedPaginator}

    @property
    def export_format(self) -> str | None:
        wanted = self.request.GET.get(self.export_trigger_param)
        return wanted if wanted in self.export_formats else None

    def get_table_pagination(self, table):
        return False if self.export_format else super().get_table_pagination(table)

    def get_export_filename(self, export_format):
        return f"{self.export_name}-{self.clinic.slug}-{self.today.isoformat()}.{export_format}"

    def create_export(self, export_format):
        exporter = self.export_class(
            export_format=export_format,
            table=self.get_table(**self.get_table_kwargs()),
            exclude_columns=self.exclude_columns,
            dataset_kwargs={"title": self.export_name},
        )
        log_export(
            self.clinic, self.request.user, what=self.export_name, fmt=export_format, rows=exporter.dataset.height
        )
        return exporter.response(filename=self.get_export_filename(export_format))

    def render_to_response(self, context, **kwargs):
        if self.export_format:
            return self.create_export(self.export_format)
        # Only the offered formats: skip ExportMixin, which would serve any tablib format.
        return super(ExportMixin, self).render_to_response(context, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context["export_links"] = []
        for fmt in self.export_formats:
            query[self.export_trigger_param] = fmt
            context["export_links"].append((fmt.upper(), f"?{query.urlencode()}"))
        return context
