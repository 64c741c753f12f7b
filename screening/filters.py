"""The pipeline's filters (django-filter), in SQL: stage, cause, clinician, waiting too long."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from clinic.display import member_name
from clinic.widgets import OptionsSelect
from screening import engine
from screening.models import Cause, Stage
from screening.pipeline import search_q, waiting_beyond_target_q

# The stages a candidate can be listed in (an implanted one is a pump patient, not listed).
STAGE_CHOICES = [(s, Stage(s).label) for s in engine.STAGES if s != engine.IMPLANTED]


class PipelineFilter(django_filters.FilterSet):
    stage = django_filters.ChoiceFilter(
        label=_("Stage"),
        choices=STAGE_CHOICES,
        empty_label=_("Any open stage"),
        method="filter_stage",
        widget=OptionsSelect,
    )
    cause = django_filters.ChoiceFilter(
        label=_("Cause"), choices=Cause.choices, empty_label=_("Any"), widget=OptionsSelect
    )
    clinician = django_filters.ChoiceFilter(
        label=_("Clinician"),
        field_name="clinician_id",
        choices=[],
        empty_label=_("Any"),
        null_label=_("Unassigned"),
        widget=OptionsSelect,
    )
    q = django_filters.CharFilter(label=_("MRN or name"), method="filter_search", widget=forms.TextInput())
    waiting = django_filters.BooleanFilter(
        label=_("Waiting for a first trial beyond the target only"),
        method="filter_waiting",
        widget=forms.CheckboxInput,
    )

    def __init__(self, data=None, queryset=None, *, clinic, today, **kwargs):
        self.clinic, self.today = clinic, today
        super().__init__(data, queryset, **kwargs)
        members = (
            get_user_model().objects.filter(memberships__clinic=clinic).order_by("last_name", "first_name", "username")
        )
        self.filters["clinician"].extra["choices"] = [(str(u.pk), member_name(u)) for u in members]
        self.filters["waiting"].label = _("Waiting beyond the target (%(days)s days from referral to first trial)") % {
            "days": clinic.screening_target_days
        }

    @property
    def qs(self):
        queryset = super().qs
        # Without a stage chosen, the open stages only: closed candidates on request.
        if not (self.form.is_valid() and self.form.cleaned_data.get("stage")):
            queryset = queryset.exclude(stage=Stage.CLOSED)
        return queryset

    def filter_stage(self, queryset, name, value):
        return queryset.filter(stage=value) if value else queryset

    def filter_search(self, queryset, name, value):
        return queryset.filter(search_q(value)) if value else queryset

    def filter_waiting(self, queryset, name, value):
        return queryset.filter(waiting_beyond_target_q(self.clinic, self.today)) if value else queryset
