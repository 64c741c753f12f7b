"""Forms for refill sessions (clinic admins) and absences (each member their own)."""

from datetime import date, datetime, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from clinic import display
from clinic.fields import MemberChoiceField
from clinic.models import Membership
from refills.booking import working_days_text, working_weekdays
from scheduling.models import WEEKDAY_CHOICES, Absence, RefillSession

MAX_ABSENCE_DAYS = 366


class MembershipChoiceField(MemberChoiceField):
    """Members of the clinic by name (the membership, whose user carries the name)."""

    def label_from_instance(self, obj) -> str:
        return display.member_name(obj.user)


class RefillSessionForm(forms.ModelForm):
    class Meta:
        model = RefillSession
        fields = ["member", "weekday", "start_time", "slots", "slot_minutes", "active"]
        field_classes = {"member": MembershipChoiceField}
        widgets = {"start_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def __init__(self, *args, clinic, **kwargs):
        self.clinic = clinic
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = (
            Membership.objects.filter(clinic=clinic)
            .exclude(role=Membership.Role.STAFF)
            .select_related("user")
            .order_by("user__last_name", "user__username")
        )
        self.fields["member"].empty_label = _("Clinic session (any member)")
        self.fields["weekday"].choices = WEEKDAY_CHOICES

    def clean_weekday(self):
        weekday = self.cleaned_data["weekday"]
        if weekday not in working_weekdays(self.clinic.working_days):
            raise forms.ValidationError(
                _(
                    "The clinic does not work on %(day)ss (working days: %(days)s): a session then would never be "
                    "used. Choose a working day, or change the working days in Settings first."
                )
                % {"day": dict(WEEKDAY_CHOICES)[weekday], "days": working_days_text(self.clinic.working_days)}
            )
        return weekday

    def clean(self):
        cleaned = super().clean()
        start, slots, minutes = cleaned.get("start_time"), cleaned.get("slots"), cleaned.get("slot_minutes")
        if start is None or not slots or not minutes:
            return cleaned
        begin = datetime.combine(date.min, start)
        end = begin + timedelta(minutes=slots * minutes)
        if start.hour * 60 + start.minute + slots * minutes > 24 * 60:
            self.add_error(
                "slots", _("The session must end by midnight: fewer slots, shorter slots or an earlier start.")
            )
            return cleaned
        weekday, member = cleaned.get("weekday"), cleaned.get("member")
        if weekday is None or member is None:
            return cleaned
        others = RefillSession.objects.filter(clinic=self.clinic, member=member, weekday=weekday, active=True).exclude(
            pk=self.instance.pk
        )
        for other in others:
            other_begin = datetime.combine(date.min, other.start_time)
            other_end = other_begin + timedelta(minutes=other.slots * other.slot_minutes)
            if begin < other_end and other_begin < end:
                self.add_error(
                    "start_time",
                    _("This overlaps %(name)s's %(day)s session at %(time)s. Change the time or that session.")
                    % {
                        "name": display.member_name(member.user),
                        "day": other.get_weekday_display(),
                        "time": f"{other.start_time:%H:%M}",
                    },
                )
                break
        return cleaned


class AbsenceForm(forms.ModelForm):
    """An absence; ``member`` is offered to admins only (others record their own)."""

    class Meta:
        model = Absence
        fields = ["member", "first_day", "last_day", "note"]
        field_classes = {"member": MembershipChoiceField}
        widgets = {
            "first_day": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "last_day": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {"note": _("Optional, e.g. annual leave or a course. No patient details.")}

    def __init__(self, *args, clinic, membership, can_choose_member: bool, **kwargs):
        self.clinic = clinic
        self.own = membership
        super().__init__(*args, **kwargs)
        if can_choose_member:
            self.fields["member"].queryset = (
                Membership.objects.filter(clinic=clinic)
                .select_related("user")
                .order_by("user__last_name", "user__username")
            )
            self.fields["member"].empty_label = None
            if not self.instance.pk:
                self.initial.setdefault("member", membership.pk)
        else:
            del self.fields["member"]

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        if first is None or last is None:
            return cleaned
        if last < first:
            self.add_error(
                "last_day", _("The last day is before the first day (%(first)s).") % {"first": display.day(first)}
            )
            return cleaned
        if (last - first).days >= MAX_ABSENCE_DAYS:
            self.add_error("last_day", _("An absence can be at most a year long: record a longer one in parts."))
            return cleaned
        member = (
            cleaned.get("member")
            if "member" in self.fields
            else (self.instance.member if self.instance.pk else self.own)
        )
        if member is None:
            return cleaned
        overlap = (
            Absence.objects.filter(clinic=self.clinic, member=member, first_day__lte=last, last_day__gte=first)
            .exclude(pk=self.instance.pk)
            .first()
        )
        if overlap is not None:
            self.add_error(
                "first_day",
                _("This overlaps an absence already recorded (%(first)s to %(last)s): change that one instead.")
                % {"first": display.day(overlap.first_day), "last": display.day(overlap.last_day)},
            )
        return cleaned

    def save(self, commit=True):
        self.instance.clinic = self.clinic
        if "member" not in self.fields and not self.instance.pk:
            self.instance.member = self.own
        return super().save(commit)
