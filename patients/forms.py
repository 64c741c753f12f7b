"""Patient and pump forms: the one place their validation lives.

The web forms, the Django admin and the CSV import all validate through these.
"""

from datetime import date
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from clinic import display
from clinic.fields import MemberChoiceField
from patients.models import Patient, Pump, PumpModel

MIN_ALARM_ML = Decimal("0.5")
MAX_ALARM_ML = Decimal("10")
# Earlier dates are typing errors (a year 0001 implant date also overflowed the schedule's date arithmetic).
EARLIEST_DATE = date(1900, 1, 1)


class ClinicScopedForm(forms.ModelForm):
    """A model form for one clinic; ``today`` is the clinic's local date.

    ``fields_of``: an earlier form of the same class, built with the same arguments except
    the data, the instance and the row's own objects, whose field objects this form uses
    instead of deep-copying the declared ones. The CSV import checks thousands of rows
    through these forms, and the copies were a fifth of its time (issue 13). The rules are
    the same: the fields are built once, as they would be for each form, and cleaning
    never changes a field (a form that adds or removes fields while cleaning does so in
    its own dict of them).
    """

    def __init__(self, *args, clinic, today, fields_of: "ClinicScopedForm | None" = None, **kwargs):
        self.clinic = clinic
        self.today = today
        self.shares_fields = fields_of is not None
        if self.shares_fields:
            self.base_fields = {}  # BaseForm.__init__ deep-copies these: nothing to copy
        super().__init__(*args, **kwargs)
        if self.shares_fields:
            self.fields = dict(fields_of.fields)

    def not_in_future(self, field: str):
        """A date that has happened: not after today, and not before 1900."""
        value = self.cleaned_data.get(field)
        if value is not None and value > self.today:
            raise forms.ValidationError(
                _("This date is in the future (today is %(today)s)."), params={"today": display.day(self.today)}
            )
        if value is not None and value < EARLIEST_DATE:
            raise forms.ValidationError(
                _("Enter a date from %(earliest)s on."), params={"earliest": display.day(EARLIEST_DATE)}
            )
        return value


NO_EMAIL_FOR_REMINDERS = _(
    "Reminders are on but there is no email address: this patient cannot be reminded until one is added."
)


def assignable_managers(clinic):
    """The clinic's admins and pump managers, as an unevaluated queryset built once per clinic
    object (each form's field takes its own copy): building it cost more than the rest of a
    patient form, and the import makes one form per row (issue 13)."""
    from django.contrib.auth import get_user_model

    queryset = getattr(clinic, "_assignable_managers", None)
    if queryset is None:
        queryset = (
            get_user_model()
            .objects.filter(memberships__clinic=clinic, memberships__role__in=["admin", "manager"])
            .order_by("last_name", "username")
        )
        clinic._assignable_managers = queryset
    return queryset


class PatientForm(ClinicScopedForm):
    """``warnings`` (field -> message), after validation: what is accepted but needs attention."""

    class Meta:
        model = Patient
        fields = [
            "mrn",
            "first_name",
            "last_name",
            "date_of_birth",
            "email",
            "phone",
            "reminders_opt_in",
            "manager",
            "status",
            "sci_t6_or_above",
            "communication_difficulty",
            "previous_withdrawal",
            "notes",
        ]
        field_classes = {"manager": MemberChoiceField}  # members by name, not username
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, known_mrns: set | None = None, **kwargs):
        # ``known_mrns``: every MRN of the clinic, read once by a caller checking many new
        # patients (the CSV import), so checking one asks the database nothing.
        self.known_mrns = known_mrns
        self.warnings: dict = {}
        super().__init__(*args, **kwargs)
        if not self.shares_fields:  # a shared field has it already
            # Only this clinic's admins and pump managers can be assigned.
            self.fields["manager"].queryset = assignable_managers(self.clinic)

    def clean_mrn(self):
        mrn = self.cleaned_data["mrn"].strip()
        if not mrn:
            raise forms.ValidationError(_("MRN is required."))
        if self.known_mrns is not None and self.instance.pk is None:
            clash = mrn in self.known_mrns
        else:
            clash = Patient.objects.filter(clinic=self.clinic, mrn=mrn).exclude(pk=self.instance.pk).exists()
        if clash:
            raise forms.ValidationError(_("Another patient in this clinic has MRN %(mrn)s."), params={"mrn": mrn})
        return mrn

    def clean_date_of_birth(self):
        return self.not_in_future("date_of_birth")

    def clean(self):
        cleaned = super().clean()
        # Opted in without an email is accepted (clinics often lack one, SPEC 4): a warning,
        # never an error. An invalid email already has its own error.
        self.warnings = {}
        if cleaned.get("reminders_opt_in") and not cleaned.get("email") and "email" not in self.errors:
            self.warnings["email"] = NO_EMAIL_FOR_REMINDERS
        return cleaned

    def save(self, commit=True):
        self.instance.clinic = self.clinic
        return super().save(commit)


class KnownModelChoiceField(forms.ModelChoiceField):
    """A model choice among rows already read (pk -> object): no query per form."""

    def __init__(self, rows: dict, *args, **kwargs):
        self.rows = rows
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, self.queryset.model):
            value = value.pk
        try:
            return self.rows[int(value)]
        except (KeyError, TypeError, ValueError):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            ) from None


class PumpForm(ClinicScopedForm):
    """Implant or edit a pump. Reservoir and alarm volume default from the model."""

    reservoir_ml = forms.DecimalField(
        label=_("Reservoir (mL)"),
        max_digits=6,
        decimal_places=2,
        required=False,
        help_text=_("Leave empty to use the model's reservoir."),
    )
    alarm_volume_ml = forms.DecimalField(
        label=_("Low-reservoir alarm volume (mL)"),
        max_digits=6,
        decimal_places=2,
        required=False,
        help_text=_("Leave empty to use the model's default; some patients need 3-4 mL."),
    )

    class Meta:
        model = Pump
        fields = ["model", "serial_number", "implant_date", "reservoir_ml", "alarm_volume_ml", "eri_date"]
        widgets = {
            "implant_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "eri_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(
        self, *args, patient=None, known_serials: set | None = None, pump_models: dict | None = None, **kwargs
    ):
        # ``known_serials`` (every serial of the clinic) and ``pump_models`` (pk -> PumpModel):
        # read once by a caller checking many new pumps (the CSV import), so checking one
        # asks the database nothing. The rules are the same.
        self.patient = patient
        self.known_serials = known_serials
        self.pump_models = pump_models
        super().__init__(*args, **kwargs)
        if pump_models is not None and not self.shares_fields:
            field = self.fields["model"]
            self.fields["model"] = KnownModelChoiceField(
                pump_models, queryset=field.queryset, label=field.label, help_text=field.help_text
            )

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        if self.pump_models is not None:
            exclude.add("model")  # chosen among the pump models just read, so it exists
        return exclude

    def clean_serial_number(self):
        serial = self.cleaned_data["serial_number"].strip()
        if self.known_serials is not None and self.instance.pk is None:
            clash = serial in self.known_serials
        else:
            clash = Pump.objects.filter(clinic=self.clinic, serial_number=serial).exclude(pk=self.instance.pk).exists()
        if clash:
            raise forms.ValidationError(
                _("Another pump in this clinic has serial number %(serial)s."), params={"serial": serial}
            )
        return serial

    def clean_implant_date(self):
        return self.not_in_future("implant_date")

    def clean(self):
        cleaned = super().clean()
        model: PumpModel | None = cleaned.get("model")
        if model is None:
            return cleaned
        # Only an empty field takes the model's default: an entered 0 is checked (and refused), not replaced.
        reservoir = self.entered_or_default("reservoir_ml", model.reservoir_ml)
        alarm = self.entered_or_default("alarm_volume_ml", model.alarm_volume_ml)
        if "reservoir_ml" in self.errors:
            pass  # already told what is wrong with the entered value
        elif reservoir is None:
            self.add_error(
                "reservoir_ml",
                _("Enter the reservoir size: the pump model “%(model)s” has no standard one.") % {"model": model.name},
            )
        elif reservoir <= 0 or reservoir > 100:
            self.add_error("reservoir_ml", _("The reservoir must be more than 0 and at most 100 mL."))
        if "alarm_volume_ml" in self.errors:
            pass
        elif alarm is None:
            self.add_error(
                "alarm_volume_ml",
                _("Enter the low-reservoir alarm volume: the pump model “%(model)s” has no default one.")
                % {"model": model.name},
            )
        elif not MIN_ALARM_ML <= alarm <= MAX_ALARM_ML:
            self.add_error("alarm_volume_ml", _("The alarm volume must be between 0.5 and 10 mL."))
        elif reservoir is not None and alarm >= reservoir:
            self.add_error("alarm_volume_ml", _("The alarm volume must be below the reservoir size."))
        if model.code == PumpModel.OTHER and not cleaned.get("eri_date"):
            self.add_error(
                "eri_date",
                _("Enter the ERI date: the service life of the pump model “%(model)s” is unknown.")
                % {"model": model.name},
            )
        implant, eri = cleaned.get("implant_date"), cleaned.get("eri_date")
        if implant and eri and eri < implant:
            self.add_error("eri_date", _("The ERI date cannot be before the implant date."))
        first_fill = (
            self.instance.refills.order_by("performed_on").values_list("performed_on", flat=True).first()
            if self.instance.pk and implant
            else None
        )
        if first_fill is not None and implant > first_fill:
            self.add_error(
                "implant_date",
                forms.ValidationError(
                    _("A fill is recorded on %(day)s, before this implant date."),
                    params={"day": display.day(first_fill)},
                ),
            )
        for field, value in (("reservoir_ml", reservoir), ("alarm_volume_ml", alarm)):
            if field not in self.errors:
                cleaned[field] = value
        if self.instance.pk and reservoir is not None:
            fullest = (
                self.instance.refills.order_by("-volume_after_ml").values_list("volume_after_ml", flat=True).first()
            )
            if fullest is not None and fullest > reservoir:
                self.add_error(
                    "reservoir_ml",
                    forms.ValidationError(
                        _("A recorded refill left %(v)s mL, more than this reservoir holds."),
                        params={"v": display.qty(fullest)},
                    ),
                )
        return cleaned

    def entered_or_default(self, field: str, default):
        """The entered value, else the model's default if the field was left empty (None if it is invalid)."""
        if field in self.errors:
            return None
        value = self.cleaned_data.get(field)
        return default if value is None else value

    def save(self, commit=True):
        self.instance.clinic = self.clinic
        if self.patient is not None:
            self.instance.patient = self.patient
        return super().save(commit)


class ExplantForm(forms.Form):
    """The date a pump came out: not in the future, not before its implant or its last fill."""

    explant_date = forms.DateField(
        label=_("Explant date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, pump, today, **kwargs):
        self.pump = pump
        self.today = today
        super().__init__(*args, **kwargs)

    def clean_explant_date(self):
        day = self.cleaned_data["explant_date"]
        if day > self.today:
            raise forms.ValidationError(
                _("This date is in the future (today is %(today)s)."), params={"today": display.day(self.today)}
            )
        if day < self.pump.implant_date:
            raise forms.ValidationError(
                _("This date is before the pump's implant date (%(implant)s)."),
                params={"implant": display.day(self.pump.implant_date)},
            )
        # A fill or program change recorded after the explant would be on a pump no longer in.
        last_event = max(
            (d for d in (self.pump.last_refill_date, self._last_program_change()) if d is not None), default=None
        )
        if last_event is not None and day < last_event:
            raise forms.ValidationError(
                _("This date is before the pump's last recorded fill or program change (%(day)s)."),
                params={"day": display.day(last_event)},
            )
        return day

    def _last_program_change(self):
        return self.pump.program_changes.order_by("-performed_on").values_list("performed_on", flat=True).first()
