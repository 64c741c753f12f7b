"""Forms for clinic settings and membership management."""

import zoneinfo

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator
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
            raise forms.ValidationError(_("Enter whole days separated by commas, e.g. 7, 1.")) from None
        if any(not 0 <= day <= 60 for day in days):
            raise forms.ValidationError(_("Each lead day must be between 0 and 60."))
        return days

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(day) for day in value)
        return value


class ClinicSettingsForm(forms.ModelForm):
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
