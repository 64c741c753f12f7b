"""Candidate, stage-move and screening-trial forms: the one place their validation lives.

In the style of SPEC 4: each problem names its field, and a form with any problem saves
nothing. The trial's MAS scores are one grid (muscle groups x time points) of plain selects
and number inputs, so it works without JavaScript.
"""

import re
from datetime import datetime, timedelta
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.display import day, qty
from clinic.fields import MemberChoiceField
from clinic.widgets import OptionsSelect
from patients.forms import ClinicScopedForm, PatientForm, assignable_managers
from screening import engine
from screening.models import Candidate, Cause, ClosedReason, MasScore, MuscleGroup, ScreeningTrial, Stage

# C1-C8, T1-T12, L1-L5, S1-S5: the neurological levels of a spinal cord injury.
INJURY_LEVEL = re.compile(r"^(C[1-8]|T([1-9]|1[0-2])|L[1-5]|S[1-5])$")
MAX_DOSE_MCG = Decimal(1000)  # beyond any screening bolus: a typing error


class CandidatePatientForm(PatientForm):
    """The patient's own details for a new candidate (no pump manager, status or reminders yet)."""

    class Meta(PatientForm.Meta):
        fields = ["mrn", "first_name", "last_name", "date_of_birth", "email", "phone"]

    def __init__(self, *args, **kwargs):
        # PatientForm's own __init__ would set the pump manager's choices, a field left out here.
        self.known_mrns = None
        self.warnings = {}
        ClinicScopedForm.__init__(self, *args, **kwargs)


class CandidateForm(ClinicScopedForm):
    """Referral and cause of a candidate (new or edited)."""

    class Meta:
        model = Candidate
        fields = [
            "referral_date",
            "referrer",
            "cause",
            "injury_level",
            "cause_detail",
            "functional_goals",
            "clinician",
            "notes",
        ]
        field_classes = {"clinician": MemberChoiceField}
        widgets = {
            "referral_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "cause": OptionsSelect,
            "functional_goals": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"cause_detail": _("For another cause (or to add detail): in words.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinician"].queryset = assignable_managers(self.clinic)
        self.fields["clinician"].help_text = _("The clinician who follows this candidate.")

    def clean_referral_date(self):
        value = self.not_in_future("referral_date")
        moved = self.instance.pk and self.instance.moves.exclude(stage=Stage.REFERRED).order_by("date").first()
        if value and moved and value > moved.date:
            raise forms.ValidationError(
                _("The referral cannot be after the first move of the candidate (%(date)s)."),
                params={"date": day(moved.date)},
            )
        return value

    def clean_injury_level(self):
        return self.cleaned_data["injury_level"].strip().upper()

    def clean(self):
        cleaned = super().clean()
        cause = cleaned.get("cause")
        if cause == Cause.SPINAL_CORD_INJURY:
            level = cleaned.get("injury_level")
            if not level:
                self.add_error("injury_level", _("Give the level of the spinal cord injury, e.g. C5 or T4."))
            elif not INJURY_LEVEL.match(level):
                self.add_error(
                    "injury_level", _("Enter a level such as C5, T4, L1 or S2 (C1-C8, T1-T12, L1-L5, S1-S5).")
                )
        elif cause and cleaned.get("injury_level"):
            self.add_error("injury_level", _("The injury level is only for a spinal cord injury."))
        if cause == Cause.OTHER and not (cleaned.get("cause_detail") or "").strip():
            self.add_error("cause_detail", _("Say what the other cause is."))
        return cleaned

    def save(self, commit=True):
        self.instance.clinic = self.clinic
        return super().save(commit)


class StageMoveForm(forms.Form):
    stage = forms.ChoiceField(label=_("Move to"), widget=OptionsSelect)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    closed_reason = forms.ChoiceField(
        label=_("Reason for closing"), choices=[("", _("Not closing")), *ClosedReason.choices], required=False
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, candidate, allowed, today, scheduled_implants=(), **kwargs):
        kwargs.setdefault("initial", {"date": today})
        super().__init__(*args, **kwargs)
        self.candidate, self.today = candidate, today
        self.scheduled_implants = list(scheduled_implants)
        self.fields["stage"].choices = [(s, Stage(s).label) for s in allowed]
        if self.scheduled_implants and any(engine.cancels_implant(candidate.stage, s) for s in allowed):
            # The booked implant is cancelled by some of these moves: an explicit tick naming it.
            self.fields["cancel_implant"] = forms.BooleanField(
                label=_("This cancels the implant booked for %(when)s") % {"when": self.implants_in_words()},
                required=False,
                help_text=_("Needed to close the candidate or move it back while the implant is booked."),
            )

    def implants_in_words(self) -> str:
        """The booked implant(s): "Sat 5 Dec 2026 08:30" (and ... for a second one)."""
        return " and ".join(f"{day(a.local_date)} {a.local_time:%H:%M}" for a in self.scheduled_implants)

    def clean_date(self):
        value = self.cleaned_data["date"]
        if value > self.today:
            raise forms.ValidationError(
                _("This date is in the future (today is %(today)s)."), params={"today": day(self.today)}
            )
        if value < self.candidate.stage_date:
            raise forms.ValidationError(
                _("The move cannot be before the current stage began (%(date)s)."),
                params={"date": day(self.candidate.stage_date)},
            )
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("stage") == Stage.CLOSED and not cleaned.get("closed_reason"):
            self.add_error("closed_reason", _("Closing needs a reason: not a candidate, declined or non-responder."))
        elif cleaned.get("stage") and cleaned.get("stage") != Stage.CLOSED and cleaned.get("closed_reason"):
            self.add_error("closed_reason", _("A reason is only for closing: choose \u201cNot closing\u201d."))
        stage = cleaned.get("stage")
        if (
            "cancel_implant" in self.fields
            and stage
            and engine.cancels_implant(self.candidate.stage, stage)
            and not cleaned.get("cancel_implant")
        ):
            self.add_error(
                "cancel_implant",
                _("Tick to confirm: moving to %(stage)s cancels the implant booked for %(when)s.")
                % {"stage": Stage(stage).label, "when": self.implants_in_words()},
            )
        return cleaned


MAS_CHOICES = [("", "-"), *MasScore.choices]
AFTER_COLUMNS = 6  # time points after the dose on the form
DEFAULT_HOURS = ("1", "2", "4", "6", "8", "")
MAS_ERROR = _("MAS is one of 0, 1, 1+, 2, 3 or 4.")


class TrialForm(forms.ModelForm):
    """A screening trial with its MAS grid.

    Cells are ``mas_<group>_0`` (before the dose) and ``mas_<group>_<n>`` for the time
    point ``hours_<n>`` (n = 1..6). Time points without any score are left out; scores
    without their hours, hours not after the dose, or a group scored after the dose but not
    before it are errors that name the cell.
    """

    trial_date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    trial_time = forms.TimeField(
        label=_("Time the dose was given"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )

    field_order = [
        "trial_date",
        "trial_time",
        "method",
        "dose_mcg",
        "dose_confirmed",
        "outcome",
        "side_effects",
        "note",
    ]

    class Meta:
        model = ScreeningTrial
        fields = ["method", "dose_mcg", "dose_confirmed", "side_effects", "outcome", "note"]
        widgets = {
            "side_effects": forms.Textarea(attrs={"rows": 2}),
            "note": forms.Textarea(attrs={"rows": 3}),
            "dose_mcg": forms.NumberInput(attrs={"step": "any", "min": "0", "inputmode": "decimal"}),
        }

    def __init__(self, *args, candidate, clinic, now, **kwargs):
        self.candidate, self.clinic, self.now = candidate, clinic, now
        instance = kwargs.get("instance")
        initial = kwargs.setdefault("initial", {})
        if instance is not None and instance.pk:
            local = timezone.localtime(instance.given_at, clinic.zone)
            initial.update(trial_date=local.date(), trial_time=local.time().replace(second=0, microsecond=0))
            for group, score in instance.mas_before.items():
                initial[f"mas_{group}_0"] = score
            for n, point in enumerate(instance.mas_after, start=1):
                initial[f"hours_{n}"] = point["hours"]
                for group, score in point["scores"].items():
                    initial[f"mas_{group}_{n}"] = score
        else:
            local_now = timezone.localtime(now, clinic.zone)
            initial.setdefault("trial_date", local_now.date())
            for n, hours in enumerate(DEFAULT_HOURS, start=1):
                initial.setdefault(f"hours_{n}", hours)
        super().__init__(*args, **kwargs)
        self.fields["dose_mcg"].help_text = _("Usually 50, 75 or 100 mcg.")
        self.fields["outcome"].choices = [("", _("Choose the outcome")), *ScreeningTrial.Outcome.choices]
        for n in range(1, AFTER_COLUMNS + 1):
            self.fields[f"hours_{n}"] = forms.DecimalField(
                label=_("Time point %(n)s, hours after the dose") % {"n": n},
                required=False,
                max_digits=4,
                decimal_places=1,
                widget=forms.NumberInput(attrs={"step": "0.5", "min": "0.5", "inputmode": "decimal"}),
            )
        for group, label in MuscleGroup.choices:
            for n in range(AFTER_COLUMNS + 1):
                when = _("before the dose") if n == 0 else _("time point %(n)s") % {"n": n}
                self.fields[f"mas_{group}_{n}"] = forms.ChoiceField(
                    label=f"{label}, {when}",
                    choices=MAS_CHOICES,
                    required=False,
                    error_messages={"invalid_choice": MAS_ERROR},
                )

    # The grid for the template: header cells, then one row per muscle group.
    def hour_fields(self):
        return [self[f"hours_{n}"] for n in range(1, AFTER_COLUMNS + 1)]

    def grid(self):
        return [
            (label, [self[f"mas_{group}_{n}"] for n in range(AFTER_COLUMNS + 1)])
            for group, label in MuscleGroup.choices
        ]

    def grid_field_names(self) -> set:
        return {name for name in self.fields if name.startswith(("mas_", "hours_"))}

    def main_fields(self):
        return [self[name] for name in self.fields if name not in self.grid_field_names()]

    def clean_dose_mcg(self):
        dose = self.cleaned_data["dose_mcg"]
        if dose is not None and dose <= 0:
            raise forms.ValidationError(_("The dose must be more than 0 mcg."))
        if dose is not None and dose > MAX_DOSE_MCG:
            raise forms.ValidationError(
                _("A screening dose is at most %(max)s mcg."), params={"max": qty(MAX_DOSE_MCG)}
            )
        return dose

    def clean(self):
        cleaned = super().clean()
        self.clean_given_at(cleaned)
        dose = cleaned.get("dose_mcg")
        if dose is not None and engine.dose_needs_confirmation(dose) and not cleaned.get("dose_confirmed"):
            self.add_error(
                "dose_mcg",
                _(
                    "%(dose)s mcg is outside the usual 25-100 mcg: tick \u201cdose outside 25-100 mcg confirmed\u201d "
                    "if it is right."
                )
                % {"dose": qty(dose)},
            )
        self.clean_grid(cleaned)
        return cleaned

    def clean_given_at(self, cleaned):
        trial_date, trial_time = cleaned.get("trial_date"), cleaned.get("trial_time")
        if trial_date is None or trial_time is None:
            return
        given_at = datetime.combine(trial_date, trial_time, tzinfo=self.clinic.zone)
        if given_at > self.now:
            local_now = timezone.localtime(self.now, self.clinic.zone)
            field = "trial_date" if trial_date > local_now.date() else "trial_time"
            self.add_error(
                field,
                _("A trial cannot be dated in the future (now is %(now)s).")
                % {"now": f"{day(local_now.date())} {local_now:%H:%M}"},
            )
            return
        others = self.candidate.trials.exclude(pk=self.instance.pk).values_list("given_at", flat=True)
        clash = engine.too_close(given_at, others)
        if clash is not None:
            local = timezone.localtime(clash, self.clinic.zone)
            self.add_error(
                "trial_time",
                _("Trials are at least 24 hours apart: another trial was given on %(when)s.")
                % {"when": f"{day(local.date())} {local:%H:%M}"},
            )
            return
        cleaned["given_at"] = given_at

    def clean_grid(self, cleaned):
        before, after, seen_hours, missing_before = {}, [], {}, set()
        for group, _label in MuscleGroup.choices:
            if cleaned.get(f"mas_{group}_0"):
                before[group] = cleaned[f"mas_{group}_0"]
        for n in range(1, AFTER_COLUMNS + 1):
            scores = {
                group: cleaned[f"mas_{group}_{n}"]
                for group, _label in MuscleGroup.choices
                if cleaned.get(f"mas_{group}_{n}")
            }
            hours = cleaned.get(f"hours_{n}")
            if f"hours_{n}" in self.errors:
                continue
            if hours is not None and hours <= 0:
                self.add_error(
                    f"hours_{n}",
                    _("Time points are after the dose, not before it: enter the hours after the dose (more than 0)."),
                )
                continue
            if hours is not None and hours > engine.MAX_HOURS_AFTER:
                self.add_error(
                    f"hours_{n}", _("At most %(max)s hours after the dose.") % {"max": qty(engine.MAX_HOURS_AFTER)}
                )
                continue
            if not scores:
                continue  # an unused column (its default hours are ignored)
            if hours is None:
                self.add_error(f"hours_{n}", _("These scores need the hours after the dose of their time point."))
                continue
            if hours in seen_hours:
                self.add_error(
                    f"hours_{n}",
                    _("Time point %(other)s is already %(hours)s hours after the dose.")
                    % {"other": seen_hours[hours], "hours": qty(hours)},
                )
                continue
            seen_hours[hours] = n
            given_at = cleaned.get("given_at")
            if given_at is not None and given_at + timedelta(hours=float(hours)) > self.now:
                point = timezone.localtime(given_at + timedelta(hours=float(hours)), self.clinic.zone)
                local_now = timezone.localtime(self.now, self.clinic.zone)
                self.add_error(
                    f"hours_{n}",
                    _(
                        "Time point %(n)s, %(hours)s hours after the dose, is %(when)s: later than now (%(now)s). "
                        "Record its scores once they have been taken."
                    )
                    % {
                        "n": n,
                        "hours": qty(hours),
                        "when": f"{day(point.date())} {point:%H:%M}",
                        "now": f"{day(local_now.date())} {local_now:%H:%M}",
                    },
                )
                continue
            for group in scores:
                if group not in before and group not in missing_before:
                    missing_before.add(group)  # one message per group, however many time points score it
                    self.add_error(
                        f"mas_{group}_0",
                        _("%(group)s is scored after the dose: give its score before the dose too.")
                        % {"group": MuscleGroup(group).label},
                    )
            after.append({"hours": qty(hours), "scores": scores})
        if not self.errors and (not before or not after):
            raise forms.ValidationError(
                _("Score at least one muscle group before the dose and at one time point after it.")
            )
        cleaned["mas_before"] = before
        cleaned["mas_after"] = sorted(after, key=lambda point: Decimal(point["hours"]))

    def save(self, commit=True):
        trial = super().save(commit=False)
        trial.candidate = self.candidate
        trial.given_at = self.cleaned_data["given_at"]
        trial.mas_before = self.cleaned_data["mas_before"]
        trial.mas_after = self.cleaned_data["mas_after"]
        if commit:
            trial.save()
        return trial
