"""Filters for the dashboard lists (django-filter); every filter runs in SQL.

The filtersets take the clinic and its ``today``: manager choices are the clinic's
members only, and status is a date-dependent rule on the stored columns.
"""

from datetime import timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic import display
from clinic.widgets import OptionsSelect
from patients.models import PumpModel
from refills import schedule
from refills.labels import BOOKING_LABELS, STATUS_LABELS

STATUS_CHOICES = [(status, STATUS_LABELS[status]) for status in schedule.STATUS_SEVERITY]
BOOKING_CHOICES = list(BOOKING_LABELS.items())
HIGH_RISK_CHOICES = [("", _("Any")), ("true", _("High risk only")), ("false", _("Not high risk"))]


member_label = display.member_name  # members by full name in every select (SPEC 8)


def clinic_members(clinic):
    return get_user_model().objects.filter(memberships__clinic=clinic).order_by("last_name", "first_name", "username")


class ClinicFilterSet(django_filters.FilterSet):
    """A filterset that knows its clinic and today, with a manager filter limited to members."""

    manager_field = "patient__manager"
    field_order: tuple = ()

    # Choice (not model choice) filters: the choices are read once, and checking a
    # submitted value against them needs no second query.
    manager = django_filters.ChoiceFilter(
        label=_("Pump manager"), choices=[], empty_label=_("Any"), null_label=_("Unassigned"), widget=OptionsSelect
    )

    def __init__(self, data=None, queryset=None, *, clinic, today, **kwargs):
        self.clinic = clinic
        self.today = today
        super().__init__(data, queryset, **kwargs)
        self.filters["manager"].field_name = f"{self.manager_field}_id"
        self.filters["manager"].extra["choices"] = [(str(u.pk), member_label(u)) for u in clinic_members(clinic)]
        order = [name for name in self.field_order if name in self.filters]
        self.filters = {name: self.filters[name] for name in [*order, *(n for n in self.filters if n not in order)]}


class CaseloadFilter(ClinicFilterSet):
    field_order = ("q", "status", "booking", "manager", "high_risk", "model")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["model"].extra["choices"] = list(PumpModel.objects.values_list("code", "name"))

    q = django_filters.CharFilter(label=_("MRN or name"), method="filter_search", widget=forms.TextInput())
    status = django_filters.MultipleChoiceFilter(
        label=_("Status"), choices=STATUS_CHOICES, method="filter_status", widget=forms.CheckboxSelectMultiple
    )
    booking = django_filters.ChoiceFilter(
        label=_("Booking"), choices=BOOKING_CHOICES, empty_label=_("Any"), widget=OptionsSelect
    )
    high_risk = django_filters.BooleanFilter(
        label=_("High risk"), field_name="patient__high_risk", widget=OptionsSelect(choices=HIGH_RISK_CHOICES)
    )
    model = django_filters.ChoiceFilter(
        label=_("Pump model"), field_name="model__code", choices=[], empty_label=_("Any"), widget=OptionsSelect
    )

    def filter_status(self, queryset, name, value):
        # On the stored dates (not the CASE annotation) so the refill_due index can help.
        return queryset.with_status_in(value, self.today) if value else queryset

    def filter_search(self, queryset, name, value):
        """Every word must match the MRN, first or last name ("Smith, Ann" works)."""
        for word in value.replace(",", " ").split():
            queryset = queryset.filter(
                Q(patient__mrn__icontains=word)
                | Q(patient__first_name__icontains=word)
                | Q(patient__last_name__icontains=word)
            )
        return queryset


class ReplacementFilter(ClinicFilterSet):
    field_order = ("urgent", "manager")

    urgent = django_filters.ChoiceFilter(
        label=_("Urgency"),
        choices=[("1", _("Urgent only (within 90 days)"))],
        empty_label=_("Whole window"),
        method="filter_urgent",
        widget=OptionsSelect,
    )

    def filter_urgent(self, queryset, name, value):
        if value != "1":
            return queryset
        return queryset.filter(replacement_due__lte=self.today + timedelta(days=schedule.URGENT_REPLACEMENT_DAYS))


class ReviewFilter(ClinicFilterSet):
    manager_field = "pump__patient__manager"
