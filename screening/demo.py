"""The demo clinic's screening pipeline (issue 16 item 7): invented candidates only.

Called by the demo seeder after the pump patients. Like the seeder, the plan is plain data
relative to the clinic's today with a seeded random generator (the same demo for the same
day), and it is written through the app's own forms and services: candidates through the
candidate forms and ``screening.services``, trials through the trial form, the implant
through ``screening.implant`` (the proposed dose confirmed), fills and program changes
through the refill forms and ``refills.services``, titration reviews through their form.

Every stage is covered: referred (one waiting past the clinic's target), assessed, trial
scheduled, trial done (a responder at 50 mcg; a 50 mcg non-responder effective at 75 mcg),
implant scheduled, closed for each reason, and one former candidate implanted eight months
ago whose titration (program changes, refills, monthly reviews) tells the usual story: the
dose climbs over the first months while spasticity and spasms fall.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

SEED = 2026 + 16
TRIAL_TIME = time(9, 0)

BEFORE = {"hip_adductors_l": "3", "hip_adductors_r": "3", "knee_extensors_l": "2", "knee_extensors_r": "1+"}
EFFECT = {"hip_adductors_l": "1", "hip_adductors_r": "1+", "knee_extensors_l": "1", "knee_extensors_r": "0"}
SLIGHT = {"hip_adductors_l": "3", "hip_adductors_r": "2", "knee_extensors_l": "2", "knee_extensors_r": "1+"}
HOURS = ("1", "2", "4", "6", "8", "12")


@dataclass(frozen=True)
class TrialPlan:
    day: int  # days from today (negative: past)
    dose: int
    outcome: str  # responder, non_responder, inconclusive
    effect_until: int | None  # hours after the dose of the last time point showing the effect
    note: str = ""
    side_effects: str = ""


@dataclass(frozen=True)
class CandidatePlan:
    mrn: str
    first_name: str
    last_name: str
    cause: str
    injury_level: str
    goals: str
    referrer: str
    moves: tuple[tuple[str, int], ...]  # (stage, days from today) after the referral
    referral: int
    trials: tuple[TrialPlan, ...] = ()
    closed_reason: str = ""
    implant_booked: tuple[int, int] | None = None  # (booked on, implant day), days from today
    implanted: bool = False


CANDIDATES = (
    CandidatePlan(
        "CAND0001", "Noor", "Referralby", "ms", "", "Walk indoors with a frame.", "Dr Neuro (invented)", (), -8
    ),
    CandidatePlan(
        "CAND0002",
        "Otto",
        "Waitinglong",
        "sci",
        "T4",
        "Sit through a working day; fewer night spasms.",
        "Spinal unit (invented)",
        (),
        -55,
    ),
    CandidatePlan(
        "CAND0003",
        "Pia",
        "Assessmentova",
        "cp",
        "",
        "Easier care and dressing.",
        "Paediatric transition clinic (invented)",
        (("assessed", -16),),
        -30,
    ),
    CandidatePlan(
        "CAND0004",
        "Ravi",
        "Trialbooked",
        "brain_injury",
        "",
        "Transfers with one carer.",
        "Rehabilitation ward (invented)",
        (("assessed", -35), ("trial_scheduled", -6)),
        -48,
    ),
    CandidatePlan(
        "CAND0005",
        "Saga",
        "Respondwell",
        "sci",
        "C6",
        "Sleep through the night; stand in a frame.",
        "Spinal unit (invented)",
        (("assessed", -60), ("trial_scheduled", -40)),
        -70,
        trials=(TrialPlan(-21, 50, "responder", 4, "Clear drop in adductor tone for about four hours."),),
    ),
    CandidatePlan(
        "CAND0006",
        "Tomas",
        "Secondtry",
        "ms",
        "",
        "Keep working at a desk.",
        "Dr Neuro (invented)",
        (("assessed", -80), ("trial_scheduled", -50)),
        -90,
        trials=(
            TrialPlan(-30, 50, "non_responder", None, "No change at 50 mcg."),
            TrialPlan(-28, 75, "responder", 12, "Effect from 2 hours, still present at 12 hours."),
        ),
    ),
    CandidatePlan(
        "CAND0007",
        "Una",
        "Theatrelist",
        "other",
        "",
        "Wheelchair seating without straps.",
        "Community physiotherapy (invented)",
        (("assessed", -110), ("trial_scheduled", -95)),
        -120,
        trials=(TrialPlan(-80, 50, "responder", 12, "Long effect: tone down for half a day."),),
        implant_booked=(-20, 10),
    ),
    CandidatePlan(
        "CAND0008",
        "Vera",
        "Notsuitable",
        "other",
        "",
        "Reduce pain from spasms.",
        "GP (invented)",
        (("assessed", -85), ("closed", -80)),
        -100,
        closed_reason="not_a_candidate",
    ),
    CandidatePlan(
        "CAND0009",
        "Wim",
        "Declinedson",
        "sci",
        "T10",
        "Fewer spasms at night.",
        "Spinal unit (invented)",
        (("assessed", -140), ("trial_scheduled", -120), ("closed", -90)),
        -150,
        trials=(TrialPlan(-100, 50, "responder", 6, "Good response; patient to think about the implant."),),
        closed_reason="declined",
    ),
    CandidatePlan(
        "CAND0010",
        "Xia",
        "Noresponse",
        "ms",
        "",
        "Walk with sticks.",
        "Dr Neuro (invented)",
        (("assessed", -150), ("trial_scheduled", -130), ("closed", -100)),
        -160,
        trials=(
            TrialPlan(-110, 50, "non_responder", None),
            TrialPlan(-108, 75, "non_responder", None),
            TrialPlan(-106, 100, "non_responder", None, "No change even at 100 mcg.", "Mild headache."),
        ),
        closed_reason="non_responder",
    ),
    CandidatePlan(
        "CAND0011",
        "Yusuf",
        "Titrated",
        "sci",
        "T6",
        "Transfers alone; sleep without spasms.",
        "Spinal unit (invented)",
        (("assessed", -285), ("trial_scheduled", -270)),
        -300,
        trials=(TrialPlan(-262, 50, "responder", 4, "Adductor tone down for four hours."),),
        implant_booked=(-255, -240),
        implanted=True,
    ),
)

# The implanted candidate's titration, days after the implant (-240): program changes, refills
# (with a switch from 500 to 2000 mcg/mL) and monthly reviews (MAS of four groups, Penn).
IMPLANT_DAY = -240
FIRST_FILL = {"volume": Decimal(20), "concentration": Decimal(500), "dose": Decimal(100)}
CHANGES = ((14, 150), (35, 200), (70, 250), (105, 300), (140, 280))
REFILLS = ((49, Decimal(2000), 200), (180, Decimal(2000), 280))
REVIEWS = (
    (7, {"hip_adductors_l": "3", "hip_adductors_r": "3", "knee_extensors_l": "2", "knee_extensors_r": "2"}, 4),
    (30, {"hip_adductors_l": "3", "hip_adductors_r": "2", "knee_extensors_l": "2", "knee_extensors_r": "1+"}, 3),
    (60, {"hip_adductors_l": "2", "hip_adductors_r": "2", "knee_extensors_l": "1+", "knee_extensors_r": "1+"}, 3),
    (90, {"hip_adductors_l": "1+", "hip_adductors_r": "1+", "knee_extensors_l": "1+", "knee_extensors_r": "1"}, 2),
    (120, {"hip_adductors_l": "1+", "hip_adductors_r": "1", "knee_extensors_l": "1", "knee_extensors_r": "1"}, 1),
    (150, {"hip_adductors_l": "1", "hip_adductors_r": "1", "knee_extensors_l": "1", "knee_extensors_r": "0"}, 1),
    (200, {"hip_adductors_l": "1", "hip_adductors_r": "1", "knee_extensors_l": "1", "knee_extensors_r": "0"}, 1),
    (230, {"hip_adductors_l": "1", "hip_adductors_r": "0", "knee_extensors_l": "1", "knee_extensors_r": "0"}, 0),
)
REVIEW_NOTES = {
    7: "Wound healed. Spasms as before: titrate up.",
    90: "Transfers easier; night spasms less often.",
    140: "Some leg weakness when standing: dose lowered a little.",
    230: "Goals met: transfers alone, sleeps through.",
}
PUMP_MODEL = "synchromed-ii-20"


@dataclass
class PlanEntry:
    """The implanted candidate's pump, for the seeder's check of the statuses in SQL."""

    mrn: str
    expected_status: str | None
    expected_booking: str | None
    pumps: list = field(default_factory=list)


def trial_data(plan: TrialPlan, today: date) -> dict:
    """The trial form's fields: four muscle groups before the dose and at six time points."""
    day = today + timedelta(days=plan.day)
    data = {
        "trial_date": day.isoformat(),
        "trial_time": TRIAL_TIME.strftime("%H:%M"),
        "method": "lumbar_puncture",
        "dose_mcg": str(plan.dose),
        "side_effects": plan.side_effects,
        "outcome": plan.outcome,
        "note": plan.note or "Invented demo trial.",
    }
    for group, score in BEFORE.items():
        data[f"mas_{group}_0"] = score
    for n, hours in enumerate(HOURS, start=1):
        data[f"hours_{n}"] = hours
        effective = plan.effect_until is not None and int(hours) <= plan.effect_until and int(hours) >= 2
        scores = EFFECT if effective else (SLIGHT if int(hours) <= 4 else BEFORE)
        for group, score in scores.items():
            data[f"mas_{group}_{n}"] = score
    return data


# Writing ---------------------------------------------------------------------------------------


class ScreeningDemoError(RuntimeError):
    """A planned record failed the app's validation."""


def _valid(form, what: str):
    if not form.is_valid():
        raise ScreeningDemoError(f"{what}: {form.errors.get_json_data()}")
    return form


def create_screening_demo(clinic, today: date, users: dict) -> list[PlanEntry]:
    """Write the demo's candidates; returns the implanted candidate's pump for the seeder's check."""
    from clinic.audit import acting_as

    rng = random.Random(SEED)  # noqa: S311 - invented demo data, not security
    clinician = users.get("demo-manager")
    entries = []
    for plan in CANDIDATES:
        # The audit trail names the clinician who did each step, as the records do.
        with acting_as(clinician):
            entry = _create_candidate(clinic, today, plan, clinician, rng)
        if entry is not None:
            entries.append(entry)
    return entries


def _create_candidate(clinic, today, plan: CandidatePlan, clinician, rng) -> PlanEntry | None:
    from screening import services
    from screening.forms import CandidateForm, CandidatePatientForm
    from screening.models import Stage

    referral = today + timedelta(days=plan.referral)
    patient_form = _valid(
        CandidatePatientForm(
            data={
                "mrn": plan.mrn,
                "first_name": plan.first_name,
                "last_name": plan.last_name,
                "date_of_birth": date(rng.randint(1955, 2004), rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
                "email": "",
                "phone": f"07700 900{800 + int(plan.mrn[-2:]):03d}",  # Ofcom's drama range
            },
            clinic=clinic,
            today=today,
        ),
        f"candidate patient {plan.mrn}",
    )
    candidate_form = _valid(
        CandidateForm(
            data={
                "referral_date": referral.isoformat(),
                "referrer": plan.referrer,
                "cause": plan.cause,
                "injury_level": plan.injury_level,
                "cause_detail": "Hereditary spastic paraparesis" if plan.cause == "other" else "",
                "functional_goals": plan.goals,
                "clinician": clinician.pk if clinician else "",
                "notes": "Invented demo candidate: not a real person.",
            },
            clinic=clinic,
            today=today,
        ),
        f"candidate {plan.mrn}",
    )
    candidate = services.add_candidate(candidate_form, patient_form=patient_form, by=clinician, on=referral)
    now = datetime.combine(today, time(23, 59), tzinfo=clinic.zone)
    pending_trials = sorted(plan.trials, key=lambda t: t.day)
    for stage, offset in plan.moves:
        day = today + timedelta(days=offset)
        # Trials done before this move are recorded first (the trial moves the candidate itself).
        while pending_trials and pending_trials[0].day <= offset:
            _record_trial(candidate, clinic, today, now, pending_trials.pop(0), clinician)
            candidate.refresh_from_db()
        if stage == Stage.CLOSED:
            services.move_stage(candidate, stage, on=day, by=clinician, closed_reason=plan.closed_reason)
        else:
            services.move_stage(candidate, stage, on=day, by=clinician)
        candidate.refresh_from_db()
    for trial in pending_trials:
        _record_trial(candidate, clinic, today, now, trial, clinician)
        candidate.refresh_from_db()
    if plan.implant_booked is not None:
        _book_implant(candidate, today, plan, clinician)
        candidate.refresh_from_db()
    if plan.implanted:
        return _implant_and_titrate(candidate, clinic, today, plan, clinician)
    return None


def _record_trial(candidate, clinic, today, now, plan: TrialPlan, by) -> None:
    from screening import services
    from screening.forms import TrialForm

    form = _valid(
        TrialForm(trial_data(plan, today), candidate=candidate, clinic=clinic, now=now),
        f"trial of {candidate.patient.mrn} on day {plan.day}",
    )
    services.record_trial(form, by=by)


def _book_implant(candidate, today, plan: CandidatePlan, by) -> None:
    from screening import implant

    booked_on = today + timedelta(days=plan.implant_booked[0])
    day = today + timedelta(days=plan.implant_booked[1])
    form = _valid(
        implant.ImplantAppointmentForm(
            data={
                "local_date": day.isoformat(),
                "local_time": "08:30",
                "assigned_to": by.pk if by else "",
                "notes": "Theatre 2, morning list (invented).",
            },
            patient=candidate.patient,
            today=booked_on,  # validated as on the day it was booked
        ),
        f"implant booking of {candidate.patient.mrn}",
    )
    implant.schedule_implant(candidate, form, by=by, on=booked_on)


def _implant_and_titrate(candidate, clinic, today, plan: CandidatePlan, by) -> PlanEntry:
    from patients.models import PumpModel
    from refills import schedule
    from screening import implant

    implant_day = today + timedelta(days=IMPLANT_DAY)
    the_proposal = implant.proposal(candidate)
    if the_proposal.daily_dose_mcg != FIRST_FILL["dose"]:
        raise ScreeningDemoError(f"{plan.mrn}: proposed {the_proposal.daily_dose_mcg}, planned {FIRST_FILL['dose']}")
    model = PumpModel.objects.get(code=PUMP_MODEL)
    data = {
        "pump-model": str(model.pk),
        "pump-serial_number": "DEMO-ITB-0011",
        "pump-implant_date": implant_day.isoformat(),
        "pump-reservoir_ml": "",
        "pump-alarm_volume_ml": "",
        "pump-eri_date": "",
        "fill-performed_on": implant_day.isoformat(),
        "fill-volume_added_ml": str(FIRST_FILL["volume"]),
        "fill-volume_after_ml": str(FIRST_FILL["volume"]),
        "fill-concentration_mcg_ml": str(FIRST_FILL["concentration"]),
        "fill-daily_dose_mcg": implant.number(the_proposal.daily_dose_mcg),  # the proposal, confirmed
        "fill-dosing_mode": "simple",
        "fill-bolus_allowance_mcg": "0",
        "fill-notes": "First fill at implant (invented).",
        "implant-confirm_starting_dose": "on",
    }
    appointment = implant.implant_appointment(candidate)
    pump_form, fill_form, confirm_form = implant.implant_forms(
        candidate, today=today, data=data, the_proposal=the_proposal, appointment=appointment
    )
    for form, what in ((pump_form, "pump"), (fill_form, "first fill"), (confirm_form, "dose confirmation")):
        _valid(form, f"implant of {plan.mrn}: {what}")
    pump = implant.implant_from_candidate(candidate, pump_form, fill_form, the_proposal, by=by)
    _titrate(pump, today, by)
    # The pump's status today from the plan, through the pure engine (the seeder compares SQL).
    last_day, concentration, dose = REFILLS[-1]
    refill_day = implant_day + timedelta(days=last_day)
    later = [(implant_day + timedelta(days=d), Decimal(v), None) for d, v in CHANGES if d > last_day]
    cycle = schedule.fill_cycle(refill_day, Decimal(20), concentration, Decimal(dose), Decimal(0), later)
    result = schedule.pump_schedule(
        cycle, model.alarm_volume_ml, clinic.buffer_days, model.max_refill_interval_days, clinic.due_soon_days
    )
    status = schedule.pump_status(today, result.empty_date, result.alarm_date, result.refill_due, result.due_soon_from)
    return PlanEntry(plan.mrn, status, schedule.booking_state(result.refill_due, []))


def _titrate(pump, today, by) -> None:
    """Program changes, refills (the residual removed as expected) and reviews after the implant."""
    from refills import schedule
    from refills import services as refill_services
    from refills.forms import ProgramChangeForm, RefillForm
    from refills.models import ProgramChange, Refill
    from screening.models_titration import TitrationReview
    from screening.titration_forms import TitrationReviewForm, mas_field_name

    implant_day = pump.implant_date
    events = [(d, 1, ("change", v)) for d, v in CHANGES] + [(d, 0, ("refill", c, v)) for d, c, v in REFILLS]
    events += [(d, 2, ("review", mas, penn)) for d, mas, penn in REVIEWS]
    for offset, _order, event in sorted(events, key=lambda e: (e[0], e[1])):
        day = implant_day + timedelta(days=offset)
        if event[0] == "change":
            form = ProgramChangeForm(
                data={
                    "performed_on": day.isoformat(),
                    "daily_dose_mcg": str(event[1]),
                    "bolus_allowance_mcg": "",
                    "dosing_mode": "",
                    "notes": "Titration (invented).",
                },
                pump=pump,
                today=today,
                instance=ProgramChange(pump=pump, performed_by=by),
            )
            _valid(form, f"program change of {pump.serial_number} on {day}")
            refill_services.change_program(form.save(commit=False))
        elif event[0] == "refill":
            _previous, cycle = refill_services.current_cycle(pump)
            removed = schedule.to_decimal(schedule.expected_residual(cycle, day), 1)
            form = RefillForm(
                data={
                    "performed_on": day.isoformat(),
                    "volume_removed_ml": str(removed),
                    "volume_added_ml": "20",
                    "volume_after_ml": "20",
                    "concentration_mcg_ml": str(event[1]),
                    "daily_dose_mcg": str(event[2]),
                    "dosing_mode": "simple",
                    "bolus_allowance_mcg": "0",
                    "bridge_bolus_confirmed": "on" if event[1] != cycle_concentration(pump) else "",
                    "notes": "Refill (invented).",
                },
                pump=pump,
                today=today,
                instance=Refill(pump=pump, performed_by=by),
            )
            _valid(form, f"refill of {pump.serial_number} on {day}")
            refill_services.record_refill(form.save(commit=False))
        else:
            data = {"reviewed_on": day.isoformat(), "penn_score": str(event[2]), "note": REVIEW_NOTES.get(offset, "")}
            data.update({mas_field_name(group): score for group, score in event[1].items()})
            form = TitrationReviewForm(data, pump=pump, today=today, instance=TitrationReview(reviewed_by=by))
            _valid(form, f"titration review of {pump.serial_number} on {day}")
            form.save()


def cycle_concentration(pump) -> Decimal:
    latest = pump.refills.order_by("-performed_on", "-id").first()
    return latest.concentration_mcg_ml


def delete_screening_demo(clinic) -> None:
    """The demo clinic's screening rows, before its patients (a candidate protects its patient)."""
    from screening.models import Candidate, ScreeningTrial

    ScreeningTrial.objects.filter(candidate__clinic=clinic).delete()
    Candidate.objects.filter(clinic=clinic).delete()
