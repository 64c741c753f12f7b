"""What changes a candidate: the only writer of its stage, its stage history and its trials.

Each function works in one transaction, so a refused step saves nothing. ``on`` is the
clinic's local date, read once by the caller (a view's ``self.today``).
"""

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from clinic import display
from patients.models import Patient, Pump
from refills import services as refill_services
from refills.models import Appointment
from screening import engine
from screening.models import Candidate, ScreeningTrial, Stage, StageMove


class StageMoveRefused(ValueError):
    """A move the pipeline does not allow (the message says why, in the clinic's words)."""


def may_become_candidate(patient: Patient) -> bool:
    """A patient of the clinic without an implanted pump and not already a candidate."""
    return (
        not Candidate.objects.filter(patient=patient).exists()
        and not patient.pumps.filter(status=Pump.Status.ACTIVE).exists()
    )


@transaction.atomic
def add_candidate(candidate_form, *, patient_form=None, patient=None, by, on: date) -> Candidate:
    """Save a new candidate (and its new patient, from ``patient_form``) with its referral move.

    Both forms are valid; either ``patient_form`` (a new patient) or ``patient`` (an existing
    one without a pump) is given.
    """
    if patient_form is not None:
        patient = patient_form.save(commit=False)
        patient.clinic = candidate_form.clinic
        patient.save()
    candidate = candidate_form.save(commit=False)
    candidate.clinic = candidate_form.clinic
    candidate.patient = patient
    candidate.stage = Stage.REFERRED
    candidate.stage_date = candidate.referral_date
    candidate.save()
    StageMove.objects.create(candidate=candidate, stage=Stage.REFERRED, date=candidate.referral_date, moved_by=by)
    return candidate


def stage_before_closing(candidate: Candidate) -> str | None:
    """The stage a closed candidate was in when it was closed (to reopen it there)."""
    moves = list(candidate.moves.order_by("-date", "-created_at", "-pk").values_list("stage", flat=True)[:2])
    return moves[1] if len(moves) == 2 and moves[0] == Stage.CLOSED else None


def allowed_moves(candidate: Candidate) -> tuple[str, ...]:
    """The stages this candidate may be moved to by hand (implanting is the implant's own page)."""
    closed_from = stage_before_closing(candidate) if candidate.stage == Stage.CLOSED else None
    return tuple(s for s in engine.allowed_moves(candidate.stage, closed_from=closed_from) if s != Stage.IMPLANTED)


@transaction.atomic
def move_stage(candidate: Candidate, stage: str, *, on: date, by, closed_reason: str = "", note: str = "") -> StageMove:
    """Move a candidate to ``stage`` on the local date ``on``; closing needs a reason.

    ``stage`` "implanted" is allowed from "implant scheduled" only here (the implant's service
    calls this when the pump is implanted); pages offer ``allowed_moves``.
    """
    candidate = Candidate.objects.select_for_update().get(pk=candidate.pk)
    closed_from = stage_before_closing(candidate) if candidate.stage == Stage.CLOSED else None
    if stage not in engine.allowed_moves(candidate.stage, closed_from=closed_from):
        raise StageMoveRefused(
            f"A candidate in the stage {Stage(candidate.stage).label} cannot be moved to {Stage(stage).label}."
        )
    if stage == Stage.CLOSED and not closed_reason:
        raise StageMoveRefused("Closing needs a reason: not a candidate, declined or non-responder.")
    if on < candidate.stage_date:
        raise StageMoveRefused("The move cannot be dated before the date of the current stage.")
    # Closing, or moving back from "implant scheduled", cancels the booked implant (in this
    # transaction, each cancellation audited, and named in the move's note): the page says which.
    to_cancel = scheduled_implants(candidate) if engine.cancels_implant(candidate.stage, stage) else []
    if to_cancel:
        note = with_cancelled_implants(note, to_cancel)
    candidate.stage = stage
    candidate.stage_date = on
    candidate.closed_reason = closed_reason if stage == Stage.CLOSED else ""
    candidate.save(update_fields=["stage", "stage_date", "closed_reason", "updated_at"])
    move = StageMove.objects.create(
        candidate=candidate,
        stage=stage,
        date=on,
        moved_by=by,
        closed_reason=candidate.closed_reason,
        note=note,
    )
    move.cancelled_implants = [refill_services.cancel_appointment(a) for a in to_cancel]
    return move


def implant_when(appointment: Appointment) -> str:
    """The implant appointment's date and time in words: "Sat 5 Dec 2026 08:30"."""
    return f"{display.day(appointment.local_date)} {appointment.local_time:%H:%M}"


def with_cancelled_implants(note: str, appointments: list[Appointment]) -> str:
    """The move's note with the implant bookings it cancels (within the note's 300 characters)."""
    limit = StageMove._meta.get_field("note").max_length
    cancelled = "; ".join(f"implant booked for {implant_when(a)} cancelled" for a in appointments)
    if not note:
        return (cancelled[:1].upper() + cancelled[1:])[:limit]
    room = limit - len(cancelled) - 2
    return f"{note[: max(room, 0)]}; {cancelled}"[:limit]  # the user's note is cut first


def scheduled_implants(candidate: Candidate) -> list[Appointment]:
    """The candidate's implant appointments still scheduled (earliest first)."""
    return list(
        Appointment.objects.filter(
            patient_id=candidate.patient_id, kind=Appointment.Kind.IMPLANT, status=Appointment.Status.SCHEDULED
        ).order_by("local_date", "local_time", "pk")
    )


@transaction.atomic
def record_trial(trial_form, *, by) -> ScreeningTrial:
    """Save a trial (new or edited) from its valid form. A candidate waiting for a trial
    (referred, assessed, trial scheduled) moves to "trial done" on the trial's date."""
    trial = trial_form.save(commit=False)
    if trial.pk is None:
        trial.recorded_by = by
    trial.save()
    candidate = Candidate.objects.select_for_update().get(pk=trial.candidate_id)
    trial_day = trial_form.cleaned_data["trial_date"]
    if candidate.stage in engine.BEFORE_TRIAL:
        candidate.stage = Stage.TRIAL_DONE
        candidate.stage_date = max(trial_day, candidate.stage_date)
        candidate.save(update_fields=["stage", "stage_date", "updated_at"])
        StageMove.objects.create(
            candidate=candidate, stage=Stage.TRIAL_DONE, date=candidate.stage_date, moved_by=by, note="Trial recorded"
        )
    return trial


class TrialDeleteRefused(ValueError):
    """A trial that may not be deleted (the message says why)."""


@dataclass(frozen=True)
class TrialDeletePlan:
    """What deleting a trial does to its candidate, shown on the confirmation page and done
    by ``delete_trial``: the stage it moves back to (None: it stays) and the implant bookings
    cancelled with it."""

    back_to: str | None
    cancels: list[Appointment]

    @property
    def back_to_label(self) -> str:
        return str(Stage(self.back_to).label) if self.back_to else ""


def stage_before_trials(candidate: Candidate) -> str:
    """The last stage the candidate was in before a trial (referred, assessed or trial scheduled)."""
    before = candidate.moves.filter(stage__in=engine.BEFORE_TRIAL).order_by("-date", "-created_at", "-pk")
    return before.values_list("stage", flat=True).first() or Stage.REFERRED


def trial_delete_plan(trial: ScreeningTrial, candidate: Candidate | None = None) -> TrialDeletePlan:
    """What deleting ``trial`` does (SPEC 10: "trial done" needs a trial, "implant scheduled"
    a responder's trial). When the stage rested on this trial and no other trial supports it,
    the candidate moves back: from "implant scheduled" (this trial a responder, no other) to
    "trial done" if another trial remains, else to the stage before the trials; from "trial
    done" (no other trial) to the stage before the trials. Moving back from
    "implant scheduled" cancels the booked implant, as a move by hand does. Earlier stages and
    a closed candidate stay (closing was a decision of its own). Refused once implanted: the
    pump's starting dose was confirmed from the trials."""
    candidate = candidate or trial.candidate
    if candidate.stage == Stage.IMPLANTED:
        raise TrialDeleteRefused(
            "The implant was recorded from these trials (the candidate is implanted), so they are kept."
        )
    others = ScreeningTrial.objects.filter(candidate_id=candidate.pk).exclude(pk=trial.pk)
    back_to = None
    if (
        candidate.stage == Stage.IMPLANT_SCHEDULED
        and trial.outcome == engine.RESPONDER
        and not others.filter(outcome=engine.RESPONDER).exists()
    ):
        back_to = Stage.TRIAL_DONE if others.exists() else stage_before_trials(candidate)
    elif candidate.stage == Stage.TRIAL_DONE and not others.exists():
        back_to = stage_before_trials(candidate)
    cancels = scheduled_implants(candidate) if back_to and engine.cancels_implant(candidate.stage, back_to) else []
    return TrialDeletePlan(back_to=back_to, cancels=cancels)


@transaction.atomic
def delete_trial(trial: ScreeningTrial, *, by, on: date) -> TrialDeletePlan:
    """Delete a trial recorded in error (audited by auditlog) and do its plan
    (``trial_delete_plan``): the move back, with the trial's date in its note, and the
    implant bookings it cancels, all in this transaction."""
    candidate = Candidate.objects.select_for_update().get(pk=trial.candidate_id)
    plan = trial_delete_plan(trial, candidate)
    when = trial.given_at.astimezone(candidate.clinic.zone)
    trial.delete()
    if plan.back_to:
        note = f"Trial of {display.day(when.date())} {when:%H:%M} deleted (recorded in error)"
        if plan.cancels:
            note = with_cancelled_implants(note, plan.cancels)
        candidate.stage = plan.back_to
        candidate.stage_date = max(on, candidate.stage_date)
        candidate.save(update_fields=["stage", "stage_date", "updated_at"])
        StageMove.objects.create(
            candidate=candidate, stage=plan.back_to, date=candidate.stage_date, moved_by=by, note=note
        )
        for appointment in plan.cancels:
            refill_services.cancel_appointment(appointment)
    return plan
