"""Dashboard pages: Today's counts, caseload, overdue worklist, replacements and review.

Every page goes through clinic.access.ClinicAccessMixin and filters, sorts and counts
in SQL, so each one runs the same small number of queries whatever the caseload size.
"""

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BooleanField, Case, Count, ExpressionWrapper, F, OuterRef, Q, Subquery, Value, When
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from clinic import caseload_cache
from clinic.access import ClinicAccessMixin, Role, scoped
from clinic.list_exports import MAX_PER_PAGE, LoggedExportMixin
from dashboard.filters import CaseloadFilter, ReplacementFilter, ReviewFilter
from dashboard.tables import CaseloadTable, OverdueTable, ReplacementTable, ReviewTable
from dashboard.templatetags.dashboard import CountCard, url_with_query
from patients.models import Patient, Pump
from patients.querysets import DaysFrom, counting_status_q, head_q
from records.pages import sync_worklist
from refills import booking, dangers, schedule, services
from refills.models import Appointment, Refill
from reminders.models import Reminder
from scheduling import week as scheduling_week
from screening import pipeline as screening_pipeline
from screening import today as screening_today
from worklist import columns as worklist_columns
from worklist import standing as worklist_standing
from worklist import today as worklist_today

OVERDUE_STATUSES = (schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE)


def first_working_day(today: date, working_days) -> date:
    """The date the worklist's "Book refill" proposes: today if the clinic works today,
    else its next working day. An overdue pump should be seen as soon as possible, and
    staff can still change the date on the booking form."""
    return booking.first_working_day_from(today, working_days)


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
    """Every Today number for the clinic and for ``user``'s own patients, and the worklist's
    standing check (SPEC 9), in two queries.

    One pass over the followed pumps counts every pump card with plain comparisons of
    stored columns (counting_status_q; the booking from the stored first booked refill),
    for the clinic and (grouped) for ``user``'s own patients. The index on (clinic,
    refill_due) includes every column tested, so PostgreSQL counts from the index alone.
    """
    mine = Q(patient__in=Patient.objects.filter(clinic=clinic, manager=user).values("pk"))
    conditions = {
        "empty": counting_status_q(schedule.EMPTY, today),
        "alarming": counting_status_q(schedule.ALARMING, today),
        "overdue": counting_status_q(schedule.OVERDUE, today),
        "due_soon_unbooked": counting_status_q(schedule.DUE_SOON, today) & Q(first_refill_booking__isnull=True),
        # Booked, but the earliest booked refill is after refill due (booking_expression).
        "booked_late": Q(first_refill_booking__gt=F("refill_due")),
        # Booked late and not already counted as empty, alarming or overdue (Today's action list).
        "booked_late_only": dangers.booked_late_only_q(today),
        "replacements": Q(replacement_due__lte=today + timedelta(days=schedule.URGENT_REPLACEMENT_DAYS)),
    }
    followed = scoped(Pump.objects.active(), clinic)
    # Grouped by "is it mine" rather than a second FILTER per card: each test runs once per pump.
    groups = (
        followed.annotate(mine=ExpressionWrapper(mine, output_field=BooleanField()))
        .values("mine")
        .annotate(
            total=Count("clinic"), **{key: Count("clinic", filter=condition) for key, condition in conditions.items()}
        )
        .order_by()
    )
    counts = dict.fromkeys(("total", *conditions), 0)
    counts.update({f"my_{key}": 0 for key in ("total", *conditions)})
    for group in groups:
        for key in ("total", *conditions):
            counts[key] += group[key]
            if group["mine"]:
                counts[f"my_{key}"] += group[key]
    # The flagged refills are few: each looks up its pump's clinic and manager (a primary-key
    # lookup), where a join made PostgreSQL read every pump of the clinic.
    pump = Pump.objects.filter(pk=OuterRef("pump_id"))
    flagged = Refill.objects.filter(needs_review=True).annotate(
        of_clinic=Subquery(pump.values("clinic_id")[:1]), of_manager=Subquery(pump.values("patient__manager_id")[:1])
    )
    here = Q(of_clinic=clinic.pk)
    under = here & Q(residual_discrepancy_ml__gt=0)  # more left than expected: withdrawal risk
    # The flagged refills' counts and the standing check's in one query (each a subquery of
    # it): the standing check is invalidated with the caseload (worklist.services and
    # worklist.sync mark a change on every claim, exception and sync), as these counts are.
    keys = ("review", "my_review", "under_delivery", "my_under_delivery", "standing_check")
    querysets = [
        flagged.filter(here),
        flagged.filter(here & Q(of_manager=user.pk)),
        flagged.filter(under),
        flagged.filter(under & Q(of_manager=user.pk)),
        worklist_standing.standing_check_pumps(clinic, today),
    ]
    counts.update(zip(keys, capped_counts(querysets, None), strict=True))
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
    """The home page: the patients who need action today by name, most dangerous first, then
    the counts (the manager's own caseload first)."""

    template_name = "refills/today.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Counted once per caseload change (clinic.caseload_cache), not on every visit.
        counts = caseload_cache.cached(
            self.clinic.pk,
            ("today", 3, self.request.user.pk, self.today.isoformat()),  # 3: the counts' keys changed
            lambda: today_counts(self.clinic, self.today, self.request.user),
        )
        # ?mine=1: the action list of the user's own patients only (when they have any).
        mine = self.request.GET.get("mine") == "1" and counts["my_total"] > 0
        manager = self.request.user if mine else None
        items = dangers.danger_items(
            self.clinic,
            self.today,
            counts,
            may_record=self.can_manage,
            booking_day=first_working_day(self.today, self.clinic.working_days),
            manager=manager,
        )
        more = dangers.more_links(items, counts, manager)
        context.update(
            counts=counts,
            clinic_cards=today_cards(counts),
            my_cards=today_cards(counts, manager=self.request.user) if counts["my_total"] else None,
            failed_reminders=Reminder.objects.failed_count(self.clinic),
            danger_items=items,
            danger_more=more,
            danger_hidden=sum(link.count for link in more),
            danger_total=dangers.total_items(counts, manager),
            danger_mine=mine,
            worklist=worklist_today.for_today(self.clinic, self.today, items, counts["standing_check"]),
            screening_waiting=screening_today.waiting_candidates(self.clinic, self.today, self.request.user),
        )
        return context


# The largest LIMIT a count may carry: ?page=200000000000000000 asked for a LIMIT beyond
# PostgreSQL's bigint (a 500, "bigint out of range") and SQLite's integer. No caseload comes
# near it, so a larger cap counts the same rows and the paginator says "no such page".
MAX_COUNT_CAP = 2**31 - 1


def capped_counts(querysets, cap: int | None) -> tuple[int, ...]:
    """How many rows each queryset has, counting no further than ``cap``, in one query.

    Each count reads at most ``cap`` index entries, whatever the size of the caseload
    (``cap=None``: every row, for counts that are few or cached).
    """
    parts, params = [], []
    for n, queryset in enumerate(querysets):
        rows = queryset.order_by().values("pk")
        if cap is not None:
            rows = rows[: min(cap, MAX_COUNT_CAP)]
        try:
            sql, query_params = rows.query.sql_with_params()
        except EmptyResultSet:  # a filter no row can match (an empty choice list)
            parts.append("0")
            continue
        # Django's own SQL for the queryset, its values bound as parameters.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) capped_{n})")  # noqa: S608
        params.extend(query_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        return tuple(cursor.fetchone())


NOT_FILTERS = {"page", "per_page", "sort"}


def list_total(view, queryset) -> int:
    """The number of rows of a list, cached until the clinic's data changes.

    The list is the view's for the clinic on the day with the request's filters, so those
    are the key (compiling the queryset's SQL for a key cost as much as the count saved).
    """
    filters = sorted((k, v) for k, values in view.request.GET.lists() for v in values if k not in NOT_FILTERS)
    parts = ("list total", type(view).__name__, view.today.isoformat(), tuple(filters))
    # Counting clinic_id (never null) rather than id: the caseload index covers every column read.
    return caseload_cache.cached(view.clinic.pk, parts, lambda: queryset.aggregate(total=Count("clinic"))["total"])


def urgent_pages(view, queryset):
    """A page of a list in its default (urgent_first) order reads only the pumps that can be on it.

    Status is the first sort key, so when the empty pumps alone fill the pages up to this one,
    only they are read and sorted; else the empty and alarming ones, and so on (head_q is the
    last step before the whole list). Which step suffices is found by counting each up to
    the rows needed (capped_counts), so it costs the same on any caseload. The total for the
    paginator is the one count of every row: it is cached until the clinic's data changes
    (clinic.caseload_cache). On 100,000 pumps the first page sorted 18,000 rows joined with
    their patients; now about a thousand (bench/RESULTS.md).
    """
    if view.export_format:
        return queryset
    if view.request.GET.get("sort"):  # another order: no narrowing, but the total is the same
        return queryset.with_known_count(list_total(view, queryset))
    try:
        page = int(view.request.GET.get("page", 1))
        per_page = int(view.request.GET.get("per_page", view.table_pagination["per_page"]))
    except ValueError:
        return queryset  # the paginator reports the bad number
    needed = max(page, 1) * min(max(per_page, 1), MAX_PER_PAGE)
    today = view.today
    steps = [schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE]
    candidates = [queryset.with_status_in(steps[: n + 1], today) for n in range(len(steps))]
    # head_q in its two halves: with the OR, PostgreSQL read the pumps of every clinic.
    halves = [queryset.filter(refill_due__lte=today), queryset.filter(refill_due__isnull=True)]
    *found, dated, unfilled = capped_counts([*candidates, *halves], needed)
    candidates.append(queryset.filter(head_q(today)))
    found.append(dated + unfilled)
    narrowed = queryset
    for candidate, rows in zip(candidates, found, strict=True):
        if rows >= needed:
            narrowed = candidate
            break
    return narrowed.with_known_count(list_total(view, queryset))


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

    def get_table_data(self):
        return urgent_pages(self, super().get_table_data())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # A search that finds no pump may be about a candidate (no pump yet): one count, then only.
        form = self.filterset.form
        search = form.cleaned_data.get("q", "") if form.is_valid() else ""
        paginator = getattr(context.get("table"), "paginator", None)
        if search and paginator is not None and paginator.count == 0:
            context["candidates_matching"] = screening_pipeline.open_candidates_matching(self.clinic, search)
            context["candidates_search"] = search
        return context


class OverdueView(LoggedExportMixin, SingleTableMixin, ClinicAccessMixin, TemplateView):
    """The staff worklist: empty, alarming and overdue pumps, worst first."""

    template_name = "refills/overdue.html"
    table_class = OverdueTable
    export_name = "overdue"

    def get_table_data(self):
        overdue = active_pumps(self.clinic, self.today).with_status_in(OVERDUE_STATUSES, self.today)
        overdue = worklist_columns.with_owner(overdue, self.today)  # the worklist's owner and last contact
        return urgent_pages(self, overdue.annotate(days_overdue=Value(0) - F("days_to_due")).urgent_first())

    def get_table_kwargs(self):
        sequence = list(OverdueTable._meta.sequence)
        sequence[sequence.index("book") + 1 : sequence.index("book") + 1] = ["owner", "last_contact"]
        return {
            "booking_date": self.booking_date,
            "extra_columns": worklist_columns.owner_columns(self.clinic.zone),
            "sequence": sequence,
        }

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        table.columns.hide("alarm_date")  # room for the owner at 1366 px; the exports keep the alarm date
        return table

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["booking_date"] = self.booking_date
        return context

    @cached_property
    def booking_date(self):
        """What the booking form proposes for an overdue pump (scheduling.week, one function)."""
        return scheduling_week.first_booking_day(self.clinic, self.today)


class ReplacementsView(LoggedExportMixin, SingleTableMixin, ClinicFilterView):
    """Pumps whose replacement falls within the clinic's window (or is past), urgent first."""

    template_name = "refills/replacements.html"
    table_class = ReplacementTable
    filterset_class = ReplacementFilter
    export_name = "replacements"

    def get_queryset(self):
        urgent_until = self.today + timedelta(days=schedule.URGENT_REPLACEMENT_DAYS)
        # The patient's earliest scheduled replacement appointment from today (one subquery per
        # row in the same SQL, not a query per row).
        booked = Appointment.objects.filter(
            patient=OuterRef("patient_id"),
            kind=Appointment.Kind.REPLACEMENT,
            status=Appointment.Status.SCHEDULED,
            local_date__gte=self.today,
        ).order_by("local_date", "local_time")
        return (
            self.scoped(Pump.objects.active())
            .filter(replacement_due__lte=self.today + timedelta(days=self.clinic.replacement_window_days))
            .select_related("patient", "patient__manager", "model")
            .annotate(
                replacement_booked_date=Subquery(booked.values("local_date")[:1]),
                replacement_booked_time=Subquery(booked.values("local_time")[:1]),
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

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["table"] = ReviewTable(
            context["refills"], request=self.request, can_manage=self.can_manage, paginator=context["paginator"]
        )
        return context


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
        services.acknowledge_refill(self.refill, request.user, form.cleaned_data["note"])
        sync_worklist(self.refill.pump)  # its review item is resolved at once, not at the next sync
        messages.success(request, _t("Review of the refill of %(mrn)s acknowledged.") % {"mrn": mrn})
        return redirect("review")
