"""The worklist's forms: a contact attempt and an exception (claim and release have no fields)."""

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.display import day
from worklist.models import ContactAttempt, Item

# A contact recorded a little in the future is a clock difference, not a typo.
CLOCK_TOLERANCE = timedelta(minutes=10)
OLDEST_CONTACT_DAYS = 90


class ContactForm(forms.Form):
    # No outcome is chosen for the member: each attempt says what happened (required, never preset).
    method = forms.ChoiceField(
        label=_("How"),
        choices=ContactAttempt.Method.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _(
                "How: choose what the attempt was (phone reached, no answer or message left, letter or email)."
            )
        },
    )
    with_whom = forms.CharField(
        label=_("With whom"), max_length=100, required=False, help_text=_("e.g. patient, carer")
    )
    contacted_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    contacted_time = forms.TimeField(label=_("Time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    note = forms.CharField(label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, clinic, now=None, **kwargs):
        self.clinic = clinic
        self.now = now or timezone.now()
        local = timezone.localtime(self.now, clinic.zone)
        kwargs.setdefault(
            "initial", {"contacted_on": local.date(), "contacted_time": local.time().replace(second=0, microsecond=0)}
        )
        # The item page shows this form beside the exception form (both have a note): own ids.
        kwargs.setdefault("auto_id", "id_contact_%s")
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        on, at = data.get("contacted_on"), data.get("contacted_time")
        if on is None or at is None:
            return data
        moment = datetime.combine(on, at, tzinfo=self.clinic.zone)
        if moment > self.now + CLOCK_TOLERANCE:
            self.add_error("contacted_time", _("Date and time: a contact attempt cannot be in the future."))
        elif moment < self.now - timedelta(days=OLDEST_CONTACT_DAYS):
            self.add_error("contacted_on", _("Date: record contact attempts of the last 90 days only."))
        data["contacted_at"] = moment
        return data


DANGER_WORDS = {
    "empty": _(
        "This pump is empty: the patient may be in baclofen withdrawal now. I have made sure they are "
        "safe, and except it anyway."
    ),
    "alarming": _(
        "This pump is alarming: it runs empty within days. I have made sure the patient is safe, and except it anyway."
    ),
}


class ExceptionForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "---------"), *Item.Reason.choices])
    note = forms.CharField(label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    until = forms.DateField(
        label=_("Until"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The item opens again the day after."),
    )

    def __init__(self, *args, today, danger: str = "", **kwargs):
        """``danger``: "empty" or "alarming" when the pump is; excepting it needs a tick naming it."""
        self.today = today
        kwargs.setdefault("auto_id", "id_exception_%s")  # beside the contact form on the item page
        super().__init__(*args, **kwargs)
        self.fields["until"].widget.attrs["min"] = (today + timedelta(days=1)).isoformat()
        if danger in DANGER_WORDS:
            self.fields["confirm_danger"] = forms.BooleanField(
                label=DANGER_WORDS[danger],
                required=True,
                error_messages={"required": _("Tick the box to confirm: %(words)s") % {"words": DANGER_WORDS[danger]}},
            )

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until <= self.today:
            raise forms.ValidationError(
                _("Until: choose a date after today (%(today)s)."), params={"today": day(self.today)}
            )
        if until > self.today + timedelta(days=365):
            raise forms.ValidationError(_("Until: choose a date within a year; record a new exception then."))
        return until

    def clean(self):
        data = super().clean()
        if data.get("reason") == Item.Reason.OTHER and not data.get("note"):
            self.add_error("note", _("Note: say why when the reason is 'Other'."))
        return data
