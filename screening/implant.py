"""From a responder's trial to a pump (issue 16 item 4, SPEC 10 "Implant").

Two steps, each one transaction:

- ``schedule_implant``: an appointment of the kind "implant" (never a refill booking: the
  booking state reads refill appointments only) and the candidate's move to "implant
  scheduled".
- ``implant_from_candidate``: the pump and its first fill through refills.services.implant
  (the one writer of a pump's derived state), the candidate's move to "implanted" (its stage
  history, audited) and the implant appointment marked completed. The first fill's daily
  dose starts at the dose the engine proposes (screening.engine.propose_starting_dose), which
  the clinician confirms with a tick and may change: it is never applied silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import dateformat
from django.utils.translation import gettext_lazy as _

from clinic.models import Membership
from patients.forms import PumpForm
from patients.models import Pump
from refills import services as refill_services
from refills.forms import AppointmentForm, RefillForm
from refills.models import Appointment
from screening import engine
from screening import services as screening_services
from screening.models import Candidate, ScreeningTrial, Stage

MAX_RESERVOIR_ML = Decimal(100)  # PumpForm's upper bound, for checking a fill against a pump not yet valid
NOTE_LENGTH = 300  # StageMove.note


def shown(day: date) -> str:
    return dateformat.format(day, "D j M Y")


def number(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# Reading -------------------------------------------------------------------------------------


def proposal(candidate: Candidate) -> engine.Proposal:
    """The engine's starting dose from the candidate's trials, with its reason."""
    trials = ScreeningTrial.objects.filter(candidate=candidate).order_by("given_at", "pk")
    return engine.propose_starting_dose(t.as_engine_trial() for t in trials)


def implant_appointment(candidate: Candidate) -> Appointment | None:
    """The candidate's scheduled implant appointment (the earliest), or None."""
    return (
        Appointment.objects.filter(
            patient_id=candidate.patient_id, kind=Appointment.Kind.IMPLANT, status=Appointment.Status.SCHEDULED
        )
        .select_related("assigned_to")
        .order_by("local_date", "local_time", "pk")
        .first()
    )


def has_active_pump(candidate: Candidate) -> bool:
    return Pump.objects.filter(patient_id=candidate.patient_id, status=Pump.Status.ACTIVE).exists()


NOT_GIVEN = object()


def why_not_schedule(candidate: Candidate, *, pumped=None, responder=None, appointment=NOT_GIVEN) -> str | None:
    """Why the implant cannot be booked now (None: it can). ``pumped``, ``responder`` and
    ``appointment``: what the caller has already read (else read here)."""
    if pumped if pumped is not None else has_active_pump(candidate):
        return str(_("This patient already has an implanted pump."))
    if candidate.patient.status != candidate.patient.Status.ACTIVE:
        return str(_("This patient is no longer followed by the clinic."))
    if candidate.stage not in (Stage.TRIAL_DONE, Stage.IMPLANT_SCHEDULED):
        return str(
            _("An implant is booked after a screening trial (the candidate is at the stage %(stage)s).")
            % {"stage": candidate.stage_display}
        )
    if responder is None:
        responder = ScreeningTrial.objects.filter(candidate=candidate, outcome=engine.RESPONDER).exists()
    if not responder:
        return str(_("No screening trial is marked responder: the implant is booked after a responder's trial."))
    if (implant_appointment(candidate) if appointment is NOT_GIVEN else appointment) is not None:
        return str(_("The implant is already booked."))
    return None


def why_not_implant(candidate: Candidate, *, pumped=None) -> str | None:
    """Why the implant cannot be recorded now (None: it can)."""
    if pumped if pumped is not None else has_active_pump(candidate):
        return str(_("This patient already has an implanted pump."))
    if candidate.stage != Stage.IMPLANT_SCHEDULED:
        return str(
            _("The implant is recorded once it is scheduled (the candidate is at the stage %(stage)s).")
            % {"stage": candidate.stage_display}
        )
    return None


def implant_page_for(patient) -> str | None:
    """The implant page of a patient who is a candidate with the implant scheduled (None
    otherwise): the pump create page sends such a patient there, so that the implant moves
    the candidate's stage, completes the implant appointment and proposes the dose."""
    from django.urls import reverse

    candidate = Candidate.objects.filter(patient=patient, stage=Stage.IMPLANT_SCHEDULED).only("pk").first()
    return reverse("candidate_implant", kwargs={"pk": candidate.pk}) if candidate else None


def pump_create_route(patient) -> tuple[str, str | None] | None:
    """Where the generic pump create page sends a patient who is an open candidate, with the
    reason to show (None: not an open candidate, the generic page may implant). The implant
    scheduled goes to the implant page (stage move, appointment, proposed dose); any other open
    stage is refused with the candidate page: implanting a candidate goes through the pipeline."""
    from django.urls import reverse

    candidate = Candidate.objects.filter(patient=patient).exclude(stage__in=(Stage.IMPLANTED, Stage.CLOSED)).first()
    if candidate is None:
        return None
    if candidate.stage == Stage.IMPLANT_SCHEDULED:
        return reverse("candidate_implant", kwargs={"pk": candidate.pk}), None
    return (
        reverse("candidate_detail", kwargs={"pk": candidate.pk}),
        str(
            _(
                "%(mrn)s is a candidate for a pump at the stage %(stage)s: the implant is booked and recorded "
                "from the candidate page after a responder's screening trial."
            )
            % {"mrn": patient.mrn, "stage": candidate.stage_display}
        ),
    )


@dataclass(frozen=True)
class Panel:
    """What the candidate page shows about the implant."""

    proposal: engine.Proposal
    appointment: Appointment | None
    may_schedule: bool
    schedule_refusal: str | None
    may_implant: bool
    implant_refusal: str | None


def panel(candidate: Candidate) -> Panel:
    """Three queries: the pump, the trials and the implant appointment."""
    pumped = has_active_pump(candidate)
    trials = list(ScreeningTrial.objects.filter(candidate=candidate).order_by("given_at", "pk"))
    appointment = implant_appointment(candidate)
    responder = any(t.outcome == engine.RESPONDER for t in trials)
    refusal = why_not_schedule(candidate, pumped=pumped, responder=responder, appointment=appointment)
    implant_refusal = why_not_implant(candidate, pumped=pumped)
    return Panel(
        proposal=engine.propose_starting_dose(t.as_engine_trial() for t in trials),
        appointment=appointment,
        may_schedule=refusal is None,
        schedule_refusal=refusal,
        may_implant=implant_refusal is None,
        implant_refusal=implant_refusal,
    )


# Forms ---------------------------------------------------------------------------------------


class ImplantAppointmentForm(AppointmentForm):
    """The implant appointment: the booking form of every appointment, its kind fixed."""

    class Meta(AppointmentForm.Meta):
        fields = ["local_date", "local_time", "assigned_to", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.kind = Appointment.Kind.IMPLANT
        self.fields["local_date"].label = _("Implant date")
        self.fields["local_time"].label = _("Time")
        self.fields["assigned_to"].label = _("Surgeon or clinician")
        # Managers and admins only (one join: the role of this clinic's membership).
        self.fields["assigned_to"].queryset = (
            get_user_model()
            .objects.filter(
                memberships__clinic=self.clinic,
                memberships__role__in=(Membership.Role.MANAGER, Membership.Role.ADMIN),
            )
            .order_by("last_name", "username")
        )


class ConfirmDoseForm(forms.Form):
    """The clinician's tick on the starting daily dose (with the proposal in its label)."""

    confirm_starting_dose = forms.BooleanField(required=False)

    def __init__(self, *args, proposal: engine.Proposal, **kwargs):
        super().__init__(*args, **kwargs)
        self.proposal = proposal
        if proposal.daily_dose_mcg is not None:
            label = _(
                "I have checked the first fill's daily dose: start at the dose entered above "
                "(proposed %(dose)s mcg/day from the screening trials)."
            ) % {"dose": number(proposal.daily_dose_mcg)}
        else:
            label = _("I have checked the first fill's daily dose: start at the dose entered above (no proposal).")
        self.fields["confirm_starting_dose"].label = label

    def clean_confirm_starting_dose(self):
        if not self.cleaned_data.get("confirm_starting_dose"):
            raise forms.ValidationError(
                _(
                    "Tick to confirm the starting daily dose: the proposal is never applied without "
                    "the clinician's confirmation (you may change the dose)."
                )
            )
        return True


def implant_forms(candidate: Candidate, *, today: date, data=None, the_proposal=None, appointment=None):
    """(pump form, first fill form, confirmation form) pre-filled from the candidate: the implant
    date is the implant appointment's (today if later), the daily dose the proposal's."""
    the_proposal = the_proposal or proposal(candidate)
    day = today
    if appointment is not None and appointment.local_date <= today:
        day = max(appointment.local_date, candidate.stage_date)
    clinic = candidate.clinic
    pump_form = PumpForm(
        data, prefix="pump", clinic=clinic, today=today, patient=candidate.patient, initial={"implant_date": day}
    )
    fill_initial = {"performed_on": day, "bolus_allowance_mcg": 0}
    if the_proposal.daily_dose_mcg is not None:
        fill_initial["daily_dose_mcg"] = number(the_proposal.daily_dose_mcg)
    fill_form = RefillForm(
        data,
        prefix="fill",
        pump=stand_in_pump(pump_form, clinic),
        today=today,
        initial_fill=True,
        initial=fill_initial,
    )
    # A new pump has nothing to remove and no previous concentration to bridge from.
    for field in ("volume_removed_ml", "bridge_bolus_confirmed"):
        del fill_form.fields[field]
    confirm_form = ConfirmDoseForm(data, prefix="implant", proposal=the_proposal)
    return pump_form, fill_form, confirm_form


def stand_in_pump(pump_form, clinic) -> Pump:
    """The pump the first fill is checked against before anything is saved (as on the pump
    create page): the valid pump, else one with what can be judged now."""
    if pump_form.is_bound and pump_form.is_valid():
        pump_form.instance.clinic = clinic
        return pump_form.instance
    cleaned = getattr(pump_form, "cleaned_data", {})
    reservoir = cleaned.get("reservoir_ml") if "reservoir_ml" not in pump_form.errors else None
    if reservoir is None or not 0 < reservoir <= MAX_RESERVOIR_ML:
        reservoir = MAX_RESERVOIR_ML
    return Pump(clinic=clinic, implant_date=cleaned.get("implant_date") or date.min, reservoir_ml=reservoir)


def check_implant_date(candidate: Candidate, pump_form) -> None:
    """The implant cannot be dated before the candidate's current stage (implant scheduled)."""
    day = pump_form.cleaned_data.get("implant_date") if hasattr(pump_form, "cleaned_data") else None
    if day is not None and day < candidate.stage_date:
        pump_form.add_error(
            "implant_date",
            _("The implant date cannot be before the implant was scheduled (%(day)s).")
            % {"day": shown(candidate.stage_date)},
        )


# Writing -------------------------------------------------------------------------------------


@transaction.atomic
def schedule_implant(candidate: Candidate, form: ImplantAppointmentForm, *, by, on: date) -> Appointment:
    """Book the implant appointment (valid form) and move the candidate to "implant scheduled"."""
    appointment = form.save(commit=False)
    appointment.kind = Appointment.Kind.IMPLANT
    appointment.pump = None  # a candidate has no pump yet
    appointment.created_by = by
    refill_services.book_appointment(appointment)
    if candidate.stage != Stage.IMPLANT_SCHEDULED:
        screening_services.move_stage(
            candidate,
            Stage.IMPLANT_SCHEDULED,
            on=on,
            by=by,
            note=f"Implant booked for {shown(appointment.local_date)} at {appointment.local_time:%H:%M}",
        )
    return appointment


def implanted_note(pump: Pump, dose: Decimal, the_proposal: engine.Proposal) -> str:
    """The stage move's note: the pump and the confirmed starting dose against the proposal."""
    if the_proposal.daily_dose_mcg is None:
        proposed = "no proposal"
    elif the_proposal.daily_dose_mcg == dose:
        proposed = "as proposed"
    else:
        proposed = f"proposed {number(the_proposal.daily_dose_mcg)} mcg/day"
    note = (
        f"Pump {pump.serial_number} implanted; starting daily dose {number(dose)} mcg/day confirmed by the "
        f"clinician ({proposed})"
    )
    return note[:NOTE_LENGTH]


def carry_clinician_over(candidate: Candidate) -> None:
    """The candidate's clinician becomes the new pump patient's pump manager when the patient
    has none and the clinician is a manager or an admin of the clinic (audited save)."""
    patient = candidate.patient
    if patient.manager_id is not None or candidate.clinician_id is None:
        return
    manages = Membership.objects.filter(
        clinic_id=candidate.clinic_id,
        user_id=candidate.clinician_id,
        role__in=(Membership.Role.MANAGER, Membership.Role.ADMIN),
    ).exists()
    if manages:
        patient.manager_id = candidate.clinician_id
        patient.save(update_fields=["manager", "updated_at"])


@transaction.atomic
def implant_from_candidate(candidate: Candidate, pump_form, fill_form, the_proposal: engine.Proposal, *, by) -> Pump:
    """Save the pump with its first fill (valid forms, dose confirmed), move the candidate to
    "implanted" on the implant date and complete the implant appointment: all or nothing."""
    pump = pump_form.save(commit=False)
    fill = fill_form.save(commit=False)
    fill.performed_by = by
    pump = refill_services.implant(pump, fill)
    carry_clinician_over(candidate)
    screening_services.move_stage(
        candidate,
        Stage.IMPLANTED,
        on=pump.implant_date,
        by=by,
        note=implanted_note(pump, fill.daily_dose_mcg, the_proposal),
    )
    appointment = implant_appointment(candidate)
    pump.implant_booking = None  # (appointment, "completed" | "cancelled"), for the page's message
    if appointment is not None:
        if appointment.local_date <= pump.implant_date:
            pump.implant_booking = (refill_services.complete_appointment(appointment), "completed")
        else:  # booked for a later day than the implant: that booking will not happen
            pump.implant_booking = (refill_services.cancel_appointment(appointment), "cancelled")
    return pump
