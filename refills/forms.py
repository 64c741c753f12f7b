"""Fill event and appointment forms: SPEC section 4 validation in one place.

The web forms, the Django admin and the CSV import all validate through these, so a
rule added here holds everywhere. Warnings that a clinician may override (an unusual
dose, a compounded concentration, a concentration change) need an explicit tick.
"""

from decimal import Decimal

from django import forms
from django.core.exceptions import ObjectDoesNotExist
from django.utils import dateformat, timezone
from django.utils.translation import gettext_lazy as _

from clinic import display
from clinic.fields import MemberChoiceField
from patients.forms import ClinicScopedForm
from patients.models import Pump
from refills import booking, preview, services
from refills.models import Appointment, ProgramChange, Refill

STANDARD_CONCENTRATIONS = (Decimal(500), Decimal(1000), Decimal(2000))
SCREENING_CONCENTRATION = Decimal(50)
# Below this a concentration reads as mg/mL ("2" typed for 2 mg/mL would plan 200 mL/day and
# leave the pump empty the day it is filled): refused whatever is ticked, with the mcg/mL it
# may mean. From here on SPEC 4 applies as written: 500, 1000, 2000, or any other value with
# the "compounded" tick (50, the screening strength, never).
MG_PER_ML_BELOW = Decimal(10)
MAX_DAILY_DOSE = Decimal(3000)
USUAL_DOSE_RANGE = (Decimal(20), Decimal(1200))
# The reservoir is emptied before it is filled, so the volume after a refill normally
# equals the volume added; a larger difference needs a tick (SPEC section 4).
VOLUME_AGREEMENT_ML = Decimal("0.5")


def plain(value: Decimal) -> str:
    """A Decimal without trailing zeros for a message: 20.00 -> 20, 2.50 -> 2.5 (SPEC 8)."""
    return display.qty(value)


def check_daily_dose(form: forms.Form, field: str, confirmed: bool) -> None:
    """Dose > 0 and <= 3000 mcg/day; outside 20-1200 only with confirmation."""
    dose = form.cleaned_data.get(field)
    if dose is None:
        return
    if dose <= 0:
        form.add_error(field, _("The daily dose must be more than 0 mcg/day."))
    elif dose > MAX_DAILY_DOSE:
        form.add_error(field, _("The daily dose cannot exceed 3000 mcg/day."))
    elif not USUAL_DOSE_RANGE[0] <= dose <= USUAL_DOSE_RANGE[1] and not confirmed:
        form.add_error(
            field,
            _("%(dose)s mcg/day is outside the usual 20-1200 mcg/day: tick 'confirm unusual dose' to save it.")
            % {"dose": plain(dose)},
        )


def check_bolus(form: forms.Form, field: str) -> None:
    bolus = form.cleaned_data.get(field)
    if bolus is not None and not Decimal(0) <= bolus <= MAX_DAILY_DOSE:
        form.add_error(field, _("The bolus allowance must be between 0 and 3000 mcg/day."))


def confirm_past_due_field() -> forms.BooleanField:
    return forms.BooleanField(
        label=_("Confirm that the next refill is due on or before the day of this event"), required=False
    )


def check_due_not_past(form: forms.Form, new, day, kind: str) -> bool:
    """The refill due (and alarm) an event leaves must come after its own date, unless ticked:
    a unit slip (mg/mL for mcg/mL, a dose ten times too high) otherwise saves a pump that is
    due, alarming or empty the day it is filled. The message names the dates in words.
    True when the dates are clear of it (nothing to confirm)."""
    if new.refill_due > day:
        return True
    if form.cleaned_data.get("confirm_past_due"):
        return False
    if new.empty_date <= day:
        consequence = _("the pump would be empty on %(empty)s") % {"empty": display.day(new.empty_date)}
    elif new.alarm_date <= day:
        consequence = _("the pump would alarm on %(alarm)s") % {"alarm": display.day(new.alarm_date)}
    else:
        consequence = _("the next refill would be due on %(due)s") % {"due": display.day(new.refill_due)}
    form.add_error(
        "performed_on",
        forms.ValidationError(
            _(
                "With this %(kind)s %(consequence)s, not after %(day)s, the day of the %(kind)s: check the "
                "concentration (mcg/mL), the daily dose and the volume, or tick 'confirm that the next refill is "
                "due on or before the day of this event' to save it."
            )
            % {"kind": kind, "consequence": consequence, "day": display.day(day)},
            code="past_due",
        ),
    )
    return False


class FillEventForm(ClinicScopedForm):
    """Shared date rules of refills and program changes on one pump."""

    def __init__(self, *args, pump: Pump, **kwargs):
        self.pump = pump
        super().__init__(*args, clinic=pump.clinic, **kwargs)
        if not self.is_bound:
            self.fields.pop("confirm_past_due", None)  # offered only once a date needs it: see offer_past_due_tick

    def offer_past_due_tick(self, needed: bool) -> None:
        """The past-due tick is shown only where it is needed (as the non-working-day tick of a
        booking): once the dates were checked and need it, or once it was ticked. Other errors
        that keep the check from running do not offer it: it is asked for after them."""
        if not needed and not self.cleaned_data.get("confirm_past_due"):
            self.fields.pop("confirm_past_due", None)  # this form's own dict (ClinicScopedForm)

    def latest_refill(self):
        if self.pump.pk is None:
            return None  # a pump being implanted (validated before anything is saved) has no fills yet
        refills = self.pump.refills.all()
        if isinstance(self.instance, Refill):  # a program change's own id is no refill's
            refills = refills.exclude(pk=self.instance.pk)
        return refills.order_by("-performed_on", "-id").first()

    def clean_performed_on(self):
        day = self.not_in_future("performed_on")
        if day is not None and day < self.pump.implant_date:
            raise forms.ValidationError(
                _("This date is before the pump's implant date (%(implant)s)."),
                params={"implant": display.day(self.pump.implant_date)},
            )
        return day

    def schedule_settings(self) -> preview.ScheduleSettings | None:
        """The pump's schedule settings, or None while they are not known (a pump whose own
        fields are invalid, e.g. in the import: its fill's dates are checked once they are)."""
        try:
            settings = preview.ScheduleSettings.of(self.pump)
        except (AttributeError, ObjectDoesNotExist):
            return None
        if settings.alarm_volume_ml is None or settings.max_interval_days is None:
            return None
        return settings

    def save(self, commit=True):
        """With ``commit``, through the service that also stores the pump's dates."""
        self.instance.pump = self.pump
        instance = super().save(commit=False)
        if commit:
            self.record(instance)
        return instance

    def record(self, instance):
        raise NotImplementedError


class RefillForm(FillEventForm):
    confirm_unusual_dose = forms.BooleanField(label=_("Confirm unusual dose (outside 20-1200 mcg/day)"), required=False)
    confirm_volume_difference = forms.BooleanField(
        label=_("Confirm that the volume after refill differs from the volume added by more than 0.5 mL"),
        required=False,
    )
    confirm_past_due = confirm_past_due_field()

    class Meta:
        model = Refill
        fields = [
            "performed_on",
            "volume_removed_ml",
            "volume_added_ml",
            "volume_after_ml",
            "concentration_mcg_ml",
            "compounded",
            "daily_dose_mcg",
            "dosing_mode",
            "bolus_allowance_mcg",
            "bridge_bolus_confirmed",
            "notes",
        ]
        labels = {"compounded": _("Compounded concentration (not 500, 1000 or 2000 mcg/mL)")}
        widgets = {
            "performed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, initial_fill: bool = False, residual_required: bool = True, **kwargs):
        """``residual_required=False``: a fill the clinic already gave and records from its own
        records (the caseload import), where the volume removed was not kept; its residual is
        then not checked (refills.services.apply_residual_check skips a missing one). Nor
        must its volumes agree: the file has no volume-added column, and a re-import puts
        the file's volume after refill over a fill recorded with its own volume added."""
        self.initial_fill = initial_fill
        self.residual_required = residual_required
        super().__init__(*args, **kwargs)
        self.fields["bolus_allowance_mcg"].required = False
        if residual_required and not initial_fill and "volume_removed_ml" in self.fields:
            # Required, but checked in clean() rather than by the browser, so that the
            # page names it in its error summary; announced as required all the same.
            self.fields["volume_removed_ml"].widget.attrs["aria-required"] = "true"
        self.fields["bridge_bolus_confirmed"].label = _("A bridge bolus was programmed for the concentration change")

    def clean_performed_on(self):
        day = super().clean_performed_on()
        previous = self.latest_refill()
        if day is not None and previous is not None:
            if day < previous.performed_on:
                raise forms.ValidationError(
                    _("This date is before the previous fill (%(previous)s)."),
                    params={"previous": display.day(previous.performed_on)},
                )
            if day == previous.performed_on:
                raise forms.ValidationError(
                    _("A fill is already recorded on %(day)s for this pump."), params={"day": display.day(day)}
                )
        last_change = (
            self.pump.program_changes.order_by("-performed_on").values_list("performed_on", flat=True).first()
            if self.pump.pk is not None
            else None
        )
        if day is not None and last_change is not None and day < last_change:
            raise forms.ValidationError(
                _("This date is before the last program change (%(change)s)."),
                params={"change": display.day(last_change)},
            )
        return day

    def clean_bolus_allowance_mcg(self):
        value = self.cleaned_data.get("bolus_allowance_mcg")
        return Decimal(0) if value is None else value

    def clean(self):
        cleaned = super().clean()
        reservoir = self.pump.reservoir_ml
        after = cleaned.get("volume_after_ml")
        if after is not None and not Decimal(0) < after <= reservoir:
            self.add_error(
                "volume_after_ml",
                _("The volume after refill must be more than 0 and at most the %(r)s mL reservoir.")
                % {"r": plain(reservoir)},
            )
        for field in ("volume_removed_ml", "volume_added_ml"):
            value = cleaned.get(field)
            if value is not None and not Decimal(0) <= value <= reservoir:
                self.add_error(
                    field, _("The volume must be between 0 and the %(r)s mL reservoir.") % {"r": plain(reservoir)}
                )
        if (
            self.residual_required
            and not self.initial_fill
            and cleaned.get("volume_removed_ml") is None
            and "volume_removed_ml" not in self.errors
        ):
            self.add_error("volume_removed_ml", _("Enter the volume removed (the actual residual)."))
        if self.residual_required:
            self._check_volumes_agree(cleaned)
        self._clean_concentration(cleaned)
        check_daily_dose(self, "daily_dose_mcg", cleaned.get("confirm_unusual_dose", False))
        check_bolus(self, "bolus_allowance_mcg")
        self.offer_past_due_tick(self._check_due_not_past(cleaned) is False)
        return cleaned

    def _check_due_not_past(self, cleaned) -> bool | None:
        """True when the refill's dates come after it, False when they need the tick, None
        when they could not be checked."""
        needed = ("performed_on", "volume_after_ml", "concentration_mcg_ml", "daily_dose_mcg", "bolus_allowance_mcg")
        if any(cleaned.get(name) is None or name in self.errors for name in needed):
            return None  # a value is missing or wrong: its own message says so first
        settings = self.schedule_settings()
        if settings is None:
            return None
        try:
            new = preview.refill_schedule(cleaned, settings)
        except (ArithmeticError, ValueError, OverflowError):
            return None
        return check_due_not_past(self, new, cleaned["performed_on"], _("refill"))

    def _check_volumes_agree(self, cleaned):
        """Volume after refill and volume added differ by at most 0.5 mL unless confirmed."""
        added, after = cleaned.get("volume_added_ml"), cleaned.get("volume_after_ml")
        if added is None or after is None or "volume_added_ml" in self.errors or "volume_after_ml" in self.errors:
            return
        difference = abs(after - added)
        if difference > VOLUME_AGREEMENT_ML and not cleaned.get("confirm_volume_difference"):
            self.add_error(
                "volume_after_ml",
                _(
                    "The volume after refill (%(after)s mL) differs from the volume added (%(added)s mL) by "
                    "%(difference)s mL, though the reservoir is emptied before filling: check both, or tick "
                    "the box confirming the difference."
                )
                % {"after": plain(after), "added": plain(added), "difference": plain(difference)},
            )

    def _clean_concentration(self, cleaned):
        concentration = cleaned.get("concentration_mcg_ml")
        if concentration is None:
            return
        if concentration <= 0:
            self.add_error("concentration_mcg_ml", _("The concentration must be positive."))
            return
        if concentration == SCREENING_CONCENTRATION:
            self.add_error("concentration_mcg_ml", _("50 mcg/mL is the screening strength and cannot fill a pump."))
            return
        if concentration < MG_PER_ML_BELOW:
            self.add_error(
                "concentration_mcg_ml",
                _(
                    "%(c)s mcg/mL is far below any pump strength: did you mean %(mcg)s mcg/mL (%(c)s mg/mL)? "
                    "Enter mcg/mL."
                )
                % {"c": plain(concentration), "mcg": plain(concentration * 1000)},
            )
            return
        if concentration not in STANDARD_CONCENTRATIONS and not cleaned.get("compounded"):
            self.add_error(
                "concentration_mcg_ml",
                _("%(c)s mcg/mL is not a standard strength (500, 1000 or 2000): tick 'compounded' to confirm it.")
                % {"c": plain(concentration)},
            )
        previous = self.latest_refill()
        if (
            previous is not None
            and previous.concentration_mcg_ml != concentration
            and not cleaned.get("bridge_bolus_confirmed")
        ):
            self.add_error(
                "bridge_bolus_confirmed",
                _(
                    "The concentration changes from %(old)s to %(new)s mcg/mL: confirm that a bridge bolus was programmed."
                )
                % {"old": plain(previous.concentration_mcg_ml), "new": plain(concentration)},
            )

    def save(self, commit=True):
        self.instance.is_initial_fill = self.initial_fill
        return super().save(commit)

    def record(self, instance):
        return services.record_refill(instance)


class ProgramChangeForm(FillEventForm):
    confirm_unusual_dose = forms.BooleanField(label=_("Confirm unusual dose (outside 20-1200 mcg/day)"), required=False)
    confirm_past_due = confirm_past_due_field()

    class Meta:
        model = ProgramChange
        fields = ["performed_on", "daily_dose_mcg", "bolus_allowance_mcg", "dosing_mode", "notes"]
        widgets = {
            "performed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def record(self, instance):
        return services.change_program(instance)

    def clean_performed_on(self):
        day = super().clean_performed_on()
        previous = self.latest_refill()
        if day is None:
            return day
        if previous is None:
            raise forms.ValidationError(_("Record the pump's fill before changing its program."))
        if day <= previous.performed_on:
            raise forms.ValidationError(
                _(
                    "A program change must come after the last fill (%(previous)s); on the fill date, record the dose in the fill."
                ),
                params={"previous": display.day(previous.performed_on)},
            )
        return day

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("daily_dose_mcg") is None and cleaned.get("bolus_allowance_mcg") is None and not self.errors:
            self.add_error("daily_dose_mcg", _("Enter a new daily dose, a new bolus allowance, or both."))
        check_daily_dose(self, "daily_dose_mcg", cleaned.get("confirm_unusual_dose", False))
        check_bolus(self, "bolus_allowance_mcg")
        if not any(name in self.errors for name in ("performed_on", "daily_dose_mcg", "bolus_allowance_mcg")):
            self._check_changes_something(cleaned)
        clear = None
        if not any(name in self.errors for name in ("performed_on", "daily_dose_mcg", "bolus_allowance_mcg")):
            clear = self._check_due_not_past(cleaned)
        self.offer_past_due_tick(clear is False)
        return cleaned

    def current_fill(self):
        """The pump's last fill and its later program changes (other than this one), oldest first."""
        refill = self.latest_refill()
        if refill is None:
            return None, []
        changes = (
            self.pump.program_changes.filter(performed_on__gt=refill.performed_on)
            .exclude(pk=self.instance.pk)
            .order_by("performed_on", "id")
        )
        return refill, list(changes)

    def _check_changes_something(self, cleaned):
        """A change to the dose and bolus already in force on its date is refused: saving it
        would only move "Program now ... since" to a day nothing changed."""
        refill, changes = self.current_fill()
        day = cleaned["performed_on"]
        if refill is None:
            return
        dose, bolus, mode = refill.daily_dose_mcg, refill.bolus_allowance_mcg, refill.dosing_mode
        for change in (c for c in changes if c.performed_on <= day):
            dose = change.daily_dose_mcg if change.daily_dose_mcg is not None else dose
            bolus = change.bolus_allowance_mcg if change.bolus_allowance_mcg is not None else bolus
            mode = change.dosing_mode or mode
        new_dose, new_bolus = cleaned.get("daily_dose_mcg"), cleaned.get("bolus_allowance_mcg")
        new_mode = cleaned.get("dosing_mode")
        if (
            (new_dose is None or new_dose == dose)
            and (new_bolus is None or new_bolus == bolus)
            and (not new_mode or new_mode == mode)
        ):
            self.add_error(
                "daily_dose_mcg",
                _(
                    "Nothing changed: the daily dose and bolus allowance are already %(dose)s mcg/day and "
                    "%(bolus)s mcg/day. Enter the new dose or bolus allowance."
                )
                % {"dose": plain(dose), "bolus": plain(bolus)},
            )

    def _check_due_not_past(self, cleaned) -> bool | None:
        """Only a change that itself brings the refill due to its date or before needs the tick:
        on a pump already overdue, lowering the dose is no slip. True when nothing needs it,
        False when the tick does, None when it could not be checked."""
        refill, changes = self.current_fill()
        settings = self.schedule_settings()
        if refill is None or settings is None:
            return None
        fill = preview.FillProgram.of(refill)
        existing = [preview.DoseChange.of(change) for change in changes]
        day = cleaned["performed_on"]
        try:
            new = preview.preview_program_change(fill, existing, cleaned, settings).schedule
            before = preview.preview_program_change(fill, existing, {"performed_on": day}, settings).schedule
        except (ArithmeticError, ValueError, OverflowError):
            return None
        return before.refill_due <= day or check_due_not_past(self, new, day, _("program change"))


class AppointmentForm(ClinicScopedForm):
    """Book or reschedule an appointment; past dates are refused for new bookings."""

    class Meta:
        model = Appointment
        fields = ["kind", "local_date", "local_time", "assigned_to", "notes"]
        field_classes = {"assigned_to": MemberChoiceField}  # members by name, not username
        widgets = {
            "local_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "local_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(
        self, *args, patient, check_working_day: bool = False, booking_check=None, without_pump: bool = False, **kwargs
    ):
        """``check_working_day``: the booking pages ask before booking on a day the clinic
        does not work (SPEC 9); the import and the demo record bookings made already.
        ``booking_check(day, time, member_id, kind)``: the page's other problems with a booking
        (a full refill session, an absent member), as (field, code, message); each needs its tick."""
        self.patient = patient
        self.booking_check = booking_check
        super().__init__(*args, clinic=patient.clinic, **kwargs)
        from django.contrib.auth import get_user_model

        if not self.shares_fields:  # a shared field has it already (the same clinic)
            self.fields["assigned_to"].queryset = (
                get_user_model().objects.filter(memberships__clinic=self.clinic).order_by("last_name", "username")
            )
        if "kind" in self.fields and self.instance.kind != Appointment.Kind.IMPLANT:
            # An implant is booked from the candidate's page (screening), which moves its stage.
            self.fields["kind"].choices = [c for c in self.fields["kind"].choices if c[0] != Appointment.Kind.IMPLANT]
        if "kind" in self.fields and without_pump:
            # A patient without an implanted pump (e.g. a candidate): a review only, never a refill.
            self.fields["kind"].choices = [c for c in self.fields["kind"].choices if c[0] == Appointment.Kind.REVIEW]
            self.fields["kind"].error_messages["invalid_choice"] = _(
                "This patient has no implanted pump: choose the appointment kind Review (a refill or a "
                "replacement needs a pump)."
            )
        self.check_working_day = check_working_day
        self.booked_date = self.instance.local_date if self.instance.pk else None
        if check_working_day and self.is_bound:
            # Offered (after the date field) only once a non-working day was entered: see clean().
            self.fields["confirm_non_working_day"] = forms.BooleanField(required=False)
            self.order_fields(["kind", "local_date", "confirm_non_working_day"])

    def clean(self):
        cleaned = super().clean()
        self._check_time_passed(cleaned)
        if self.check_working_day:
            self._check_working_day(cleaned)
        if self.booking_check is not None:
            self._check_booking(cleaned)
        return cleaned

    def _check_booking(self, cleaned):
        """Each problem the page's check names needs its own tick, unless nothing was changed."""
        day, start, member = cleaned.get("local_date"), cleaned.get("local_time"), cleaned.get("assigned_to")
        if day is None or start is None:
            return
        member_id = member.pk if member else None
        unchanged = self.instance.pk and (day, start, member_id) == (
            self.booked_date,
            self.instance.local_time,
            self.instance.assigned_to_id,
        )
        if unchanged:
            return
        kind = cleaned.get("kind") or self.instance.kind
        for field, code, message in self.booking_check(day, start, member_id, kind):
            name = f"confirm_{code}"
            tick = forms.BooleanField(required=False, label=_("%(problem)s: book it anyway") % {"problem": message})
            self.fields[name] = tick
            self.order_fields([*[n for n in self.fields if n != name and n not in ("notes",)], name, "notes"])
            if not tick.widget.value_from_datadict(self.data, self.files, self.add_prefix(name)):
                self.add_error(
                    field,
                    _("%(problem)s. Choose another, or tick '%(problem)s: book it anyway'.") % {"problem": message},
                )

    def _check_time_passed(self, cleaned):
        """A new date and time today that has already passed (clinic-local) is refused: a
        scheduled appointment is never in the past. An unchanged booking is left alone."""
        day, start = cleaned.get("local_date"), cleaned.get("local_time")
        if day != self.today or start is None:
            return
        if self.instance.pk and (day, start) == (self.booked_date, self.instance.local_time):
            return
        now = timezone.localtime(timezone=self.clinic.zone)
        if now.date() == day and start <= now.time():
            self.add_error(
                "local_time",
                _(
                    "The time, %(time)s, has already passed today (it is %(now)s now): choose a later time or another day."
                )
                % {"time": f"{start:%H:%M}", "now": f"{now:%H:%M}"},
            )

    def _check_working_day(self, cleaned):
        """A new date on a day the clinic does not work needs the tick that names that date."""
        day = cleaned.get("local_date")
        if day is None or day == self.booked_date or booking.is_working_day(day, self.clinic.working_days):
            self.fields.pop("confirm_non_working_day", None)  # nothing to confirm: not shown
            return
        shown = dateformat.format(day, "D j M Y")
        label = _("%(day)s is not a working day of the clinic: book it anyway") % {"day": shown}
        # The bound field was made (with the field's label) while the fields were cleaned.
        self.fields["confirm_non_working_day"].label = self["confirm_non_working_day"].label = label
        if not cleaned.get("confirm_non_working_day"):
            self.add_error(
                "local_date",
                _(
                    "The date, %(day)s, is not a working day of the clinic (%(days)s). Choose a working day, "
                    "or tick 'book it anyway' under the date."
                )
                % {"day": shown, "days": booking.working_days_text(self.clinic.working_days)},
            )

    def clean_local_date(self):
        day = self.cleaned_data.get("local_date")
        if day is not None and day < self.today:
            raise forms.ValidationError(
                _("This date is in the past (today is %(today)s)."), params={"today": display.day(self.today)}
            )
        if day is not None and (day - self.today).days > booking.MAX_BOOKING_DAYS:
            raise forms.ValidationError(_("Appointments can be booked at most two years ahead."))
        return day

    def save(self, commit=True):
        self.instance.patient = self.patient
        if self.instance.pump_id is None:
            self.instance.pump = self.patient.pumps.filter(status=Pump.Status.ACTIVE).first()
        instance = super().save(commit=False)
        if commit:
            # Book or move: through the service that also stores the pump's booking state.
            services.book_appointment(instance)
        return instance
