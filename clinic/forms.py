"""Forms for clinic settings and membership management."""

import zoneinfo

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from clinic.models import WEEKDAYS, Clinic, Membership

USERNAME_MAX_LENGTH = 150


class LeadDaysField(forms.CharField):
    """Comma-separated whole days, e.g. "7, 1"."""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return []
        try:
            days = sorted({int(part) for part in value.replace(" ", "").split(",") if part}, reverse=True)
        except ValueError:
            raise forms.ValidationError(
                _("Appointment reminder lead days: enter whole days separated by commas, e.g. 7, 1.")
            ) from None
        if any(not 0 <= day <= 60 for day in days):
            raise forms.ValidationError(_("Each appointment reminder lead day must be from 0 to 60."))
        return days

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(day) for day in value)
        return value


def number_range(field) -> tuple[int | None, int | None]:
    """The smallest and largest value a number field takes: its own limits (0 for the
    positive fields) narrowed by the validators it or its model field carry."""
    low, high = field.min_value, field.max_value
    for validator in field.validators:
        if isinstance(validator, MinValueValidator):
            low = validator.limit_value if low is None else max(low, validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            high = validator.limit_value if high is None else min(high, validator.limit_value)
    return low, high


class ClinicSettingsForm(forms.ModelForm):
    """The clinic settings page. A refused number names its setting and the allowed range
    ("Buffer days must be from 0 to 30; 45 is too high."), on the field and in the page's
    error summary, for the limits of the form field and of the model alike (a ModelForm puts
    a model validator's error under the form field's message of the same code)."""

    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=[(z, z) for z in sorted(zoneinfo.available_timezones())]
    )
    appointment_reminder_lead_days = LeadDaysField(
        label=_("Appointment reminder lead days"), required=False, help_text=_("Days before an appointment, e.g. 7, 1.")
    )
    working_days = forms.TypedMultipleChoiceField(
        label=_("Working days"),
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The staff digest is sent on these days."),
    )

    class Meta:
        model = Clinic
        fields = [
            "name",
            "phone",
            "email",
            "time_zone",
            "buffer_days",
            "due_soon_days",
            "replacement_window_days",
            "reminders_enabled",
            "digest_hour",
            "appointment_reminder_lead_days",
            "working_days",
            "escalation_delay_hours",
            "require_two_factor",
            "screening_target_days",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if not isinstance(field, forms.IntegerField):
                continue
            # One range from the form field's and the model field's limits, checked once on
            # the form (the model's own check then no longer repeats it).
            limits = (MinValueValidator, MaxValueValidator)
            field.validators.extend(v for v in Clinic._meta.get_field(name).validators if isinstance(v, limits))
            low, high = number_range(field)
            field.validators = [v for v in field.validators if not isinstance(v, limits)]
            field.validators += [MinValueValidator(low), MaxValueValidator(high)]
            field.min_value, field.max_value = low, high
            words = {"label": field.label, "low": low, "high": high}
            field.error_messages.update(
                {
                    "required": _("Enter %(label)s: a whole number from %(low)s to %(high)s.") % words,
                    "invalid": _("%(label)s must be a whole number from %(low)s to %(high)s.") % words,
                    # %% keeps the value's placeholder for the validator to fill in.
                    "min_value": _("%(label)s must be from %(low)s to %(high)s; %%(show_value)s is too low.") % words,
                    "max_value": _("%(label)s must be from %(low)s to %(high)s; %%(show_value)s is too high.") % words,
                }
            )


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.STAFF)

    def clean_email(self):
        # The address (lower-cased) becomes the new user's username, which holds 150 characters.
        email = self.cleaned_data["email"].lower()
        if len(email) > USERNAME_MAX_LENGTH:
            raise forms.ValidationError(
                _("Enter an email address of at most %(max)s characters (it has %(length)s)."),
                params={"max": USERNAME_MAX_LENGTH, "length": len(email)},
            )
        return email


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["role", "digest_opt_in"]


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class LoginForm(AuthenticationForm):
    """Django's login form, with the username's length checked before it is looked up.

    AuthenticationForm sets the field's max_length after the field is built, so only the
    HTML attribute enforced it: a longer username reached authenticate() and django-axes,
    which stores it in a 255-character column (a 500 on PostgreSQL). A field error stops
    the form before authenticate() is called, so nothing is looked up or recorded.
    """

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].validators.append(
            MaxLengthValidator(
                USERNAME_MAX_LENGTH,
                message=_("at most %(limit_value)d characters (this one has %(show_value)d)."),
            )
        )
