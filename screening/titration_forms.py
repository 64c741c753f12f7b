"""The titration review form: validation in one place (SPEC 4 style).

The MAS of each muscle group (the trials' scale and groups; empty = not assessed), the
optional Penn spasm frequency score, the date (not before the pump's implant, not in the
future) and a note. At least one muscle group is scored.
"""

from django import forms
from django.utils import dateformat
from django.utils.translation import gettext_lazy as _

from patients.forms import ClinicScopedForm
from screening import engine
from screening.models import MuscleGroup
from screening.models_titration import PennScore, TitrationReview

MAS_PREFIX = "mas_"
MAS_CHOICES = [("", _("not assessed"))] + [(score, score) for score in engine.MAS_SCORES]


def mas_field_name(group: str) -> str:
    return f"{MAS_PREFIX}{group}"


class TitrationReviewForm(ClinicScopedForm):
    penn_score = forms.TypedChoiceField(
        label=_("Penn spasm frequency score (optional)"),
        choices=[("", _("not scored"))] + list(PennScore.choices),
        coerce=int,
        empty_value=None,
        required=False,
    )

    class Meta:
        model = TitrationReview
        fields = ["reviewed_on", "penn_score", "note"]
        widgets = {
            "reviewed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "note": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, pump, **kwargs):
        self.pump = pump
        super().__init__(*args, clinic=pump.clinic, **kwargs)
        for group, label in MuscleGroup.choices:
            self.fields[mas_field_name(group)] = forms.ChoiceField(
                label=_("MAS: %(group)s") % {"group": label},
                choices=MAS_CHOICES,
                required=False,
                initial=(self.instance.mas or {}).get(group, ""),
                error_messages={
                    "invalid_choice": _("The Modified Ashworth Scale takes only 0, 1, 1+, 2, 3 or 4."),
                },
            )

    @property
    def mas_fields(self):
        return [self[mas_field_name(group)] for group, _label in MuscleGroup.choices]

    @property
    def mas_rows(self):
        """(muscle, left field, right field) for a grid of the paired groups, in the scale's order."""
        rows, seen = [], {}
        for group, label in MuscleGroup.choices:
            muscle, _sep, side = str(label).rpartition(", ")
            if side not in ("left", "right") or not muscle:
                rows.append((str(label), self[mas_field_name(group)], None))
                continue
            if muscle not in seen:
                seen[muscle] = [muscle, None, None]
                rows.append(seen[muscle])
            seen[muscle][1 if side == "left" else 2] = self[mas_field_name(group)]
        return [tuple(row) for row in rows]

    @property
    def other_fields(self):
        return [self[name] for name in ("reviewed_on", "penn_score", "note")]

    def clean_reviewed_on(self):
        day = self.not_in_future("reviewed_on")
        if day is not None and day < self.pump.implant_date:
            raise forms.ValidationError(
                _("This date is before the pump's implant date (%(implant)s)."),
                params={"implant": dateformat.format(self.pump.implant_date, "D j M Y")},
            )
        return day

    def clean(self):
        cleaned = super().clean()
        scores = {}
        for group, _label in MuscleGroup.choices:
            score = cleaned.get(mas_field_name(group))
            if score:
                scores[group] = score
        invalid = any(mas_field_name(group) in self.errors for group, _label in MuscleGroup.choices)
        if not scores and not invalid:
            first = mas_field_name(MuscleGroup.choices[0][0])
            self.add_error(first, _("Score at least one muscle group on the Modified Ashworth Scale."))
        cleaned["mas"] = scores
        return cleaned

    def save(self, commit=True):
        from screening import titration

        self.instance.pump = self.pump
        self.instance.mas = self.cleaned_data["mas"]
        instance = super().save(commit=False)
        if commit:
            titration.record_review(instance)
        return instance
