"""The pipeline page: candidates by stage with the days they have waited; filters, CSV and XLSX."""

from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from clinic.access import ClinicAccessMixin

# The lists' export machinery (CSV/XLSX through spreadsheet_safe, audited), beside clinic/rows.py.
from clinic.list_exports import LoggedExportMixin
from screening.filters import PipelineFilter
from screening.pipeline import pipeline
from screening.tables import PipelineTable


class PipelineView(LoggedExportMixin, SingleTableMixin, ClinicAccessMixin, FilterView):
    """Every candidate in an open stage (closed ones by filter), longest waiting first within a stage."""

    template_name = "screening/pipeline.html"
    table_class = PipelineTable
    filterset_class = PipelineFilter
    export_name = "pipeline"

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "clinic": self.clinic, "today": self.today}

    def get_queryset(self):
        return pipeline(self.clinic, self.today)

    def get_table_data(self):
        return self.object_list

    def get_table_kwargs(self):
        return {"clinic": self.clinic, "today": self.today, "can_manage": self.can_manage}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["target_days"] = self.clinic.screening_target_days
        return context
