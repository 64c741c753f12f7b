"""The pipeline list (through the lists' one row path, clinic/rows.py).

On the page: the patient by name with the MRN, the stage as a word and a colour, dates in
words with the days waiting; in CSV and XLSX: plain values (ISO dates, whole days).
"""

from datetime import timedelta

import django_tables2 as tables
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from clinic.display import day_html, member_name, qty
from clinic.rows import ListTable
from screening import engine
from screening.models import ScreeningTrial, Stage


class PipelineTable(ListTable):
    mrn = tables.Column(accessor="patient__mrn", verbose_name=_("MRN"), visible=False)
    patient = tables.Column(
        accessor="patient__last_name",
        verbose_name=_("Candidate"),
        order_by=("patient__last_name", "patient__first_name"),
    )
    # Stage and cause read the record (their words with the closing reason or injury level):
    # accessors without choices, so the row path's per-column shortcut applies (clinic/rows.py).
    stage = tables.Column(accessor="stage_order", verbose_name=_("Stage"), order_by=("stage_order", "referral_date"))
    stage_date = tables.Column(accessor="stage_date", verbose_name=_("In stage since"))
    days_in_stage = tables.Column(accessor="days_in_stage", verbose_name=_("Days in stage"), order_by=("-stage_date",))
    referral_date = tables.Column(accessor="referral_date", verbose_name=_("Referred"))
    days_since_referral = tables.Column(
        accessor="days_since_referral", verbose_name=_("Days since referral"), order_by=("-referral_date",)
    )
    last_trial = tables.Column(accessor="last_trial_at", verbose_name=_("Last trial"))
    cause = tables.Column(accessor="pk", verbose_name=_("Cause"), order_by=("cause", "referral_date"))
    clinician = tables.Column(
        accessor="clinician",
        verbose_name=_("Clinician"),
        order_by=("clinician__last_name", "clinician__first_name", "clinician__username"),
    )

    next_step = tables.Column(
        accessor="pk",
        verbose_name=_("Next step"),
        orderable=False,
        exclude_from_export=True,
        attrs={"td": {"class": "row-action"}},
    )

    def __init__(self, *args, clinic, today, can_manage=False, **kwargs):
        # The next step is a clinical action: only for those who may take it.
        kwargs["exclude"] = () if can_manage else ("next_step",)
        super().__init__(*args, **kwargs)
        self.overdue_before = today - timedelta(days=clinic.screening_target_days)
        self.target_days = clinic.screening_target_days
        self.zone = clinic.zone

    def is_overdue(self, record) -> bool:
        """Still waiting for a first trial beyond the clinic's target (no trial yet, by stage)."""
        return record.stage in engine.BEFORE_TRIAL and record.referral_date < self.overdue_before

    def render_patient(self, record):
        patient = record.patient
        return format_html(
            '<a class="who" href="{}"><span class="who-name">{}, {}</span> <span class="mrn">{}</span></a>',
            reverse("candidate_detail", args=[record.pk]),
            patient.last_name,
            patient.first_name,
            patient.mrn,
        )

    def value_patient(self, record):
        return f"{record.patient.last_name}, {record.patient.first_name}"

    def render_stage(self, record):
        return format_html('<span class="badge stage-{}">{}</span>', record.stage, record.stage_display)

    def value_stage(self, record):
        return record.stage_display

    def render_stage_date(self, value):
        return day_html(value)

    def value_stage_date(self, value):
        return value

    def render_referral_date(self, value):
        return day_html(value)

    def value_referral_date(self, value):
        return value

    def render_days_since_referral(self, record):
        if self.is_overdue(record):
            return format_html(
                '{} <span class="badge badge-late">{}</span>', record.days_since_referral, _("over target")
            )
        return record.days_since_referral

    def value_days_since_referral(self, record):
        return record.days_since_referral

    def render_last_trial(self, record):
        outcome = ScreeningTrial.Outcome(record.last_trial_outcome).label
        return format_html(
            '<a href="{}">{} mcg, {}</a> <span class="days">{}</span>',
            reverse("trial_detail", args=[record.last_trial_id]),
            qty(record.last_trial_dose),
            outcome.lower(),
            day_html(timezone.localtime(record.last_trial_at, self.zone).date()),
        )

    def value_last_trial(self, record):
        outcome = ScreeningTrial.Outcome(record.last_trial_outcome).label
        local = timezone.localtime(record.last_trial_at, self.zone)
        return f"{local.date().isoformat()} {qty(record.last_trial_dose)} mcg {outcome.lower()}"

    def render_next_step(self, record):
        step = next_step(record)
        if step is None:
            return ""
        label, url = step
        return format_html(
            '<a class="btn-small btn-secondary" href="{}">{}<span class="visually-hidden"> for {}</span></a>',
            url,
            label,
            record.patient.mrn,
        )

    def render_cause(self, record):
        return record.cause_display

    def value_cause(self, record):
        return record.cause_display

    def render_clinician(self, value):
        return member_name(value)

    def value_clinician(self, value):
        return member_name(value)

    class Meta:
        template_name = "refills/_table.html"
        attrs = {"class": "table table-stack pipeline"}
        row_attrs = {"class": lambda table, record: "over-target" if table.is_overdue(record) else ""}
        empty_text = _("No candidate matches these filters.")


def next_step(record) -> tuple[str, str] | None:
    """The usual next action for a candidate in its stage: (label, URL), or None."""
    stage = record.stage
    if stage == Stage.TRIAL_SCHEDULED:
        return _("Record the trial"), reverse("trial_create", args=[record.pk])
    try:
        if stage == Stage.TRIAL_DONE and record.last_trial_outcome == ScreeningTrial.Outcome.RESPONDER:
            return _("Book the implant"), reverse("candidate_implant_book", args=[record.pk])
        if stage == Stage.IMPLANT_SCHEDULED:
            return _("Record the implant"), reverse("candidate_implant", args=[record.pk])
    except NoReverseMatch:  # the implant pages are another part of the app: without them, a move
        pass
    if stage in (Stage.REFERRED, Stage.ASSESSED, Stage.TRIAL_DONE, Stage.IMPLANT_SCHEDULED):
        return _("Move stage"), reverse("candidate_move", args=[record.pk])
    return None


# Each cell says which column it is in (data-label), for the stacked rows of phones, as the
# other lists do (static attributes, so the row path's shortcut applies).
for _column in PipelineTable.base_columns.values():
    _column.attrs.setdefault("td", {}).setdefault("data-label", _column.verbose_name)
