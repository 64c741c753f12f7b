"""Dashboard pages: Today's counts, caseload, overdue worklist, replacements and review.

Every page goes through clinic.access.ClinicAccessMixin and filters, sorts and counts
in SQL, so each one runs the same small number of queries whatever the caseload size.
"""

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.db.models import BooleanField, Case, Count, F, Q, Value, When
from django.shortcuts import redirect
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.export import ExportMixin

from clinic.access import ClinicAccessMixin, Role, scoped
from clinic.audit import log_export
from patients.models import Pump
from patients.querysets import DaysFrom
from refills import schedule
from refills.filters import CaseloadFilter, ReplacementFilter, ReviewFilter
from refills.models import Refill
from refills.tables import CaseloadTable, OverdueTable, ReplacementTable, SafeTableExport
from refills.templatetags.dashboard import CountCard, url_with_query

OVERDUE_STATUSES = (schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE)


def first_working_day(today: date, working_days) -> date:
    """The date the worklist's "Book refill" proposes: today if the clinic works today,
    else its next working day. An overdue pump should be seen as soon as possible, and
    staff can still change the date on the booking form."""
    working = set(working_days or range(5))
    day = today
    for _offset in range(7):
        if day.weekday() in working:
            return day
        day += timedelta(days=1)
    return today


def active_pumps(clinic, today):
    """The clinic's followed pumps with status, booking and the related rows the lists show."""
    return (
        scoped(Pump.objects.active(), clinic).with_status(today).select_related("patient", "patient__manager", "model")
    )


# Today's pump cards: (key, label, tone, condition on Pump.with_status, list, query).
PUMP_CARDS = [
    ("empty", _("Empty"), "empty", Q(status_now=schedule.EMPTY), "caseload", {"status": schedule.EMPTY}),
    ("alarming", _("Alarming"), "alarming", Q(status_now=schedule.ALARMING), "caseload", {"status": schedule.ALARMING}),
    ("overdue", _("Overdue"), "overdue", Q(status_now=schedule.OVERDUE), "caseload", {"status": schedule.OVERDUE}),
    (
        "due_soon_unbooked",
        _("Due soon, not booked"),
        "due_soon",
        Q(status_now=schedule.DUE_SOON, booking=schedule.UNBOOKED),
        "caseload",
        {"status": schedule.DUE_SOON, "booking": schedule.UNBOOKED},
    ),
    (
        "booked_late",
        _("Booked after refill due"),
        "overdue",
        Q(booking=schedule.BOOKED_LATE),
        "caseload",
        {"booking": schedule.BOOKED_LATE},
    ),
]


def today_counts(clinic, today: date, user) -> dict:
    """Every Today number for the clinic and for ``user``'s own patients, in two queries."""
    replacement_soon = Q(replacement_due__lte=today + timedelta(days=schedule.URGENT_REPLACEMENT_DAYS))
    mine = Q(patient__manager=user)
    conditions = {key: condition for key, _label, _tone, condition, _name, _query in PUMP_CARDS}
    conditions["replacements"] = replacement_soon
    aggregates = {"total": Count("pk"), "my_total": Count("pk", filter=mine)}
    for key, condition in conditions.items():
        aggregates[key] = Count("pk", filter=condition)
        aggregates[f"my_{key}"] = Count("pk", filter=condition & mine)
    # One conditional aggregate over the annotated pumps instead of a query per card.
    counts = scoped(Pump.objects.active(), clinic).with_status(today).aggregate(**aggregates)
    counts.update(
        scoped(Refill.objects.filter(needs_review=True), clinic).aggregate(
            review=Count("pk"), my_review=Count("pk", filter=Q(pump__patient__manager=user))
        )
    )
    return counts


def today_cards(counts: dict, manager=None) -> list[CountCard]:
    """The cards of one caseload (the whole clinic, or ``manager``'s own patients)."""
    prefix = "my_" if manager is not None else ""
    scope = {"manager": manager.pk} if manager is not None else {}
    cards = [
        CountCard(key, label, counts[prefix + key], url_with_query(name, {**query, **scope}), tone)
        for key, label, tone, _condition, name, query in PUMP_CARDS
    ]
    cards.append(
        CountCard(
            "review", _("Refills awaiting review"), counts[prefix + "review"], url_with_query("review", scope), "review"
        )
    )
    cards.append(
        CountCard(
            "replacements",
            _("Replacements within 90 days"),
            counts[prefix + "replacements"],
            url_with_query("replacements", {"urgent": "1", **scope}),
            "replacement",
        )
    )
    return cards


class TodayView(ClinicAccessMixin, TemplateView):
    """The home page: what needs doing today, the manager's own caseload first."""

    template_name = "refills/today.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        counts = today_counts(self.clinic, self.today, self.request.user)
        context.update(
            counts=counts,
            clinic_cards=today_cards(counts),
            my_cards=today_cards(counts, manager=self.request.user) if counts["my_total"] else None,
        )
        return context


class LoggedExportMixin(ExportMixin):
    """CSV and XLSX of the filtered rows (all pages), each export written to the audit trail."""

    export_formats = ("csv", "xlsx")
    export_class = SafeTableExport
    table_pagination = {"per_page": 50}

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


class ClinicFilterView(ClinicAccessMixin, FilterView):
    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "clinic": self.clinic, "today": self.today}


class CaseloadView(LoggedExportMixin, SingleTableMixin, ClinicFilterView):
    """Every followed pump, most urgent first; filters, sortable columns and export."""

    template_name = "refills/caseload.html"
    table_class = CaseloadTable
    filterset_class = CaseloadFilter
    export_name = "caseload"

    def get_queryset(self):
        return active_pumps(self.clinic, self.today).urgent_first()


class OverdueView(LoggedExportMixin, SingleTableMixin, ClinicAccessMixin, TemplateView):
    """The staff worklist: empty, alarming and overdue pumps, worst first."""

    template_name = "refills/overdue.html"
    table_class = OverdueTable
    export_name = "overdue"

    def get_table_data(self):
        overdue = active_pumps(self.clinic, self.today).with_status_in(OVERDUE_STATUSES, self.today)
        return overdue.annotate(days_overdue=Value(0) - F("days_to_due")).urgent_first()

    def get_table_kwargs(self):
        return {"booking_date": first_working_day(self.today, self.clinic.working_days)}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["booking_date"] = first_working_day(self.today, self.clinic.working_days)
        return context


class ReplacementsView(LoggedExportMixin, SingleTableMixin, ClinicFilterView):
    """Pumps whose replacement falls within the clinic's window (or is past), urgent first."""

    template_name = "refills/replacements.html"
    table_class = ReplacementTable
    filterset_class = ReplacementFilter
    export_name = "replacements"

    def get_queryset(self):
        urgent_until = self.today + timedelta(days=schedule.URGENT_REPLACEMENT_DAYS)
        return (
            self.scoped(Pump.objects.active())
            .filter(replacement_due__lte=self.today + timedelta(days=self.clinic.replacement_window_days))
            .select_related("patient", "patient__manager", "model")
            .annotate(
                days_to_replacement=DaysFrom("replacement_due", self.today),
                replacement_urgent=Case(
                    When(replacement_due__lte=urgent_until, then=Value(True)),
                    default=Value(False),
                    output_field=BooleanField(),
                ),
            )
            .order_by("-replacement_urgent", "replacement_due", "-patient__high_risk", "patient__mrn")
        )

    def get_table_kwargs(self):
        return {"today": self.today}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["window_days"] = self.clinic.replacement_window_days
        return context


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=2000, strip=True)


class ReviewView(ClinicFilterView):
    """Refills whose residual differed from the projection, awaiting a manager's note."""

    template_name = "refills/review.html"
    filterset_class = ReviewFilter
    paginate_by = 50
    context_object_name = "refills"

    def get_queryset(self):
        # Oldest first: the longest-waiting discrepancy is read first.
        return (
            self.scoped(Refill.objects.filter(needs_review=True))
            .select_related("pump", "pump__patient", "pump__model", "performed_by")
            .order_by("performed_on", "pk")
        )


class AcknowledgeReviewView(ClinicAccessMixin, View):
    """POST note=...: a manager records what was checked; the refill leaves the review list."""

    role = Role.MANAGER
    http_method_names = ["post"]

    def load_objects(self):
        self.refill = self.get_scoped(Refill.objects.select_related("pump__patient"), pk=self.kwargs["pk"])

    def post(self, request, pk):
        mrn = self.refill.pump.patient.mrn
        if not self.refill.needs_review:
            messages.info(request, _t("The refill of %(mrn)s was already acknowledged.") % {"mrn": mrn})
            return redirect("review")
        form = AcknowledgeForm(request.POST)
        if not form.is_valid():
            messages.error(
                request,
                _t(
                    "Note: write what was checked or done before acknowledging the refill of %(mrn)s. Nothing was saved."
                )
                % {"mrn": mrn},
            )
            return redirect("review")
        self.refill.acknowledge(request.user, form.cleaned_data["note"])
        messages.success(request, _t("Review of the refill of %(mrn)s acknowledged.") % {"mrn": mrn})
        return redirect("review")
