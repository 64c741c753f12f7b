"""The synthetic demo clinic of ``manage.py seed_demo``: the writer of demo/plan.py.

The plan (demo/plan.py, pure) decides the invented patients, pumps, fills, program
changes and appointments of the demo caseload relative to today; this module writes it:

- ``create_demo`` writes ``build_plan``'s caseload through the validation forms
  (patients/forms.py, refills/forms.py) and refills.services, so every value obeys the
  rules a clinician's entry would and the services store each pump's schedule.
- ``verify_demo`` then reads the statuses back in SQL and compares them with the plan.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from demo.plan import (  # noqa: F401 (the demo's names, read by the command and the tests as demo.seeder.X)
    ADMIN,
    BOOKED,
    CLINIC_EMAIL,
    CLINIC_NAME,
    CLINIC_PHONE,
    LATE,
    MANAGER,
    PASSWORD,
    SCENARIOS,
    SEED,
    SLUG,
    STAFF,
    STATUSES,
    TIME_ZONE,
    UNBOOKED,
    USERS,
    DemoPlanError,
    ModelSpec,
    PatientPlan,
    RefillPlan,
    build_plan,
    clinic_settings,
    expected_counts,
)
from refills import schedule
from screening import demo as screening_demo

# -- Writing it: through the validation forms ----------------------------------------


class DemoDataError(RuntimeError):
    """A planned record failed the app's validation."""


def _model_specs() -> dict[str, ModelSpec]:
    from patients.models import PumpModel

    return {
        m.code: ModelSpec(m.code, m.reservoir_ml, m.alarm_volume_ml, m.service_life_months, m.max_refill_interval_days)
        for m in PumpModel.objects.exclude(code=PumpModel.OTHER)
    }


def _saved(form, what: str, save=None):
    """Validate ``form`` and save it (through ``save``, a refills.services function, when the
    form's own save does not write the derived state it feeds)."""
    if not form.is_valid():
        raise DemoDataError(f"{what}: {form.errors.get_json_data()}")
    return save(form.save(commit=False)) if save is not None else form.save()


def _blank(value) -> str:
    return "" if value is None else str(value)


def ensure_users(clinic) -> dict:
    """The three demo logins and their memberships, password reset to the documented one."""
    from django.contrib.auth import get_user_model

    from clinic.models import Membership

    users = {}
    for username, role, first_name, last_name, superuser in USERS:
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.first_name, user.last_name = first_name, last_name
        user.email = f"{username}@example.invalid"
        user.is_active = True
        user.is_staff = user.is_superuser = superuser
        user.set_password(PASSWORD)
        user.save()
        Membership.objects.update_or_create(
            user=user, clinic=clinic, defaults={"role": role, "digest_opt_in": role != "staff"}
        )
        users[username] = user
    return users


def create_demo(today: date | None = None):
    """Create the demo clinic, its members and caseload as of ``today`` (default: the
    clinic's today). Returns (clinic, plan, today)."""
    from clinic.audit import acting_as
    from clinic.models import Clinic

    clinic = Clinic(name=CLINIC_NAME, slug=SLUG, time_zone=TIME_ZONE, phone=CLINIC_PHONE, email=CLINIC_EMAIL)
    clinic.full_clean()
    clinic.save()
    users = ensure_users(clinic)
    today = today or clinic.today()
    plan = build_plan(today, _model_specs(), clinic_settings(clinic))
    with acting_as(users[ADMIN]):
        for patient_plan in plan:
            _create_patient(clinic, today, users, patient_plan)
        plan += screening_demo.create_screening_demo(clinic, today, users)  # issue 16
    from scheduling.demo import seed_week  # sessions and an absence (issue 15)

    seed_week(clinic, users, today, ADMIN, MANAGER)
    from worklist.demo import seed_worklist  # the worklist's items in every state (issue 15)

    seed_worklist(clinic, users, today, ADMIN, MANAGER, STAFF)
    return clinic, plan, today


def _create_patient(clinic, today, users, plan: PatientPlan) -> None:
    from clinic.audit import acting_as
    from patients.forms import PatientForm, PumpForm
    from patients.models import PumpModel
    from refills import services

    manager = users.get(plan.manager) if plan.manager else None
    patient = _saved(
        PatientForm(
            data={
                "mrn": plan.mrn,
                "first_name": plan.first_name,
                "last_name": plan.last_name,
                "date_of_birth": plan.date_of_birth,
                "email": plan.email,
                "phone": plan.phone,
                "reminders_opt_in": plan.reminders_opt_in,
                "manager": manager.pk if manager else "",
                "status": plan.status,
                "sci_t6_or_above": plan.sci_t6_or_above,
                "communication_difficulty": plan.communication_difficulty,
                "previous_withdrawal": plan.previous_withdrawal,
                "notes": plan.notes,
            },
            clinic=clinic,
            today=today,
        ),
        f"patient {plan.mrn}",
    )
    models = {m.code: m for m in PumpModel.objects.all()}
    performer = manager or users[MANAGER]
    pump = None
    for pump_plan in plan.pumps:
        pump = _saved(
            PumpForm(
                data={
                    "model": models[pump_plan.model].pk,
                    "serial_number": pump_plan.serial_number,
                    "implant_date": pump_plan.implant_date,
                    "reservoir_ml": "",
                    "alarm_volume_ml": pump_plan.alarm_volume_ml if pump_plan.custom_alarm else "",
                    "eri_date": _blank(pump_plan.eri_date),
                },
                clinic=clinic,
                today=today,
                patient=patient,
            ),
            f"pump {pump_plan.serial_number}",
            save=services.edit_pump,
        )
        events = [(r.performed_on, 0, r) for r in pump_plan.refills] + [
            (c.performed_on, 1, c) for c in pump_plan.changes
        ]
        for _day, _order, event in sorted(events, key=lambda e: (e[0], e[1])):
            # The audit trail names who recorded the fill: its performer, as the timeline does.
            with acting_as(performer):
                _save_event(event, pump, pump_plan, performer, today)
        if pump_plan.explant_date is not None:
            pump.status, pump.explant_date = pump.Status.EXPLANTED, pump_plan.explant_date
            services.edit_pump(pump)
    for visit in plan.appointments:
        # Booked by the staff member the appointment names as its creator.
        with acting_as(users[STAFF]):
            _save_visit(visit, patient, pump, users, today, plan.mrn)


def _save_visit(visit, patient, pump, users, today, mrn: str) -> None:
    from refills import services
    from refills.forms import AppointmentForm
    from refills.models import Appointment

    assignee = users.get(visit.assigned_to) if visit.assigned_to else None
    instance = Appointment(patient=patient, pump=pump, created_by=users[STAFF], status=visit.status)
    if visit.status == "scheduled":
        _saved(
            AppointmentForm(
                data={
                    "kind": visit.kind,
                    "local_date": visit.local_date,
                    "local_time": visit.local_time.strftime("%H:%M"),
                    "assigned_to": assignee.pk if assignee else "",
                    "notes": visit.notes,
                },
                patient=patient,
                today=today,
                instance=instance,
            ),
            f"appointment of {mrn} on {visit.local_date}",
        )
    else:
        # Past or cancelled visits: the booking form only takes new, future ones.
        instance.kind, instance.local_date, instance.local_time = visit.kind, visit.local_date, visit.local_time
        instance.assigned_to, instance.notes = assignee, visit.notes
        services.book_appointment(instance)


def _save_event(event, pump, pump_plan, performer, today) -> None:
    """A planned refill (and its review) or program change, through the validation forms."""
    from refills import services
    from refills.forms import ProgramChangeForm, RefillForm
    from refills.models import ProgramChange, Refill

    if isinstance(event, RefillPlan):
        refill = _saved(
            RefillForm(
                data={
                    "performed_on": event.performed_on,
                    "volume_removed_ml": _blank(event.volume_removed_ml),
                    "volume_added_ml": event.volume_after_ml,
                    "volume_after_ml": event.volume_after_ml,
                    "concentration_mcg_ml": event.concentration,
                    "daily_dose_mcg": event.dose,
                    "dosing_mode": event.mode,
                    "bolus_allowance_mcg": event.bolus,
                    "bridge_bolus_confirmed": event.bridge_bolus,
                    "notes": event.notes,
                },
                pump=pump,
                today=today,
                initial_fill=event.initial,
                instance=Refill(pump=pump, performed_by=performer),
            ),
            f"refill of {pump_plan.serial_number} on {event.performed_on}",
        )
        if event.review_note:
            services.acknowledge_refill(refill, performer, event.review_note)
    else:
        _saved(
            ProgramChangeForm(
                data={
                    "performed_on": event.performed_on,
                    "daily_dose_mcg": _blank(event.dose),
                    "bolus_allowance_mcg": _blank(event.bolus),
                    "dosing_mode": "",
                    "notes": event.notes,
                },
                pump=pump,
                today=today,
                instance=ProgramChange(pump=pump, performed_by=performer),
            ),
            f"program change of {pump_plan.serial_number} on {event.performed_on}",
        )


def delete_demo(clinic) -> None:
    """Remove the demo clinic and everything in it (the users stay, to be reset)."""
    from patients.models import Patient, Pump
    from refills import services
    from refills.models import Appointment

    services.delete_appointments(Appointment.objects.filter(patient__clinic=clinic))
    screening_demo.delete_screening_demo(clinic)  # candidates protect their patients
    Pump.objects.filter(clinic=clinic).delete()
    Patient.objects.filter(clinic=clinic).delete()
    clinic.delete()


# -- Checking the result in SQL --------------------------------------------------------


@dataclass
class Summary:
    today: date
    patients: int
    inactive_patients: int
    by_status: Counter  # (status, booking) -> pumps
    awaiting_review: int
    replacement_urgent: int
    replacement_planned: int
    eri_reached: int
    appointments_next_week: int
    mismatches: list[str]

    def lines(self) -> list[str]:
        out = [f"Active pumps by status on {self.today} (booked / booked late / unbooked):"]
        for status in STATUSES:
            counts = [self.by_status[(status, state)] for state in (BOOKED, LATE, UNBOOKED)]
            out.append(f"  {status:<9} {sum(counts):>3}   ({counts[0]} / {counts[1]} / {counts[2]})")
        out += [
            f"Patients: {self.patients} ({self.inactive_patients} no longer followed)",
            f"Refills awaiting review: {self.awaiting_review}",
            f"Replacements: {self.replacement_urgent} within 90 days ({self.eri_reached} past ERI), "
            f"{self.replacement_planned} more within the replacement window",
            f"Scheduled appointments in the next 7 days: {self.appointments_next_week}",
        ]
        return out


def verify_demo(clinic, plan: list[PatientPlan], today: date) -> Summary:
    """Read the statuses on ``today`` back from SQL and compare them with the plan."""
    from patients.models import Patient, Pump
    from refills.models import Appointment, Refill

    pumps = Pump.objects.active().filter(clinic=clinic).with_status(today)
    rows = {row["patient__mrn"]: row for row in pumps.values("patient__mrn", "status_now", "booking")}
    mismatches = []
    for patient in plan:
        row = rows.pop(patient.mrn, None)
        if patient.expected_status is None:
            if row is not None:
                mismatches.append(f"{patient.mrn}: not followed but listed")
            continue
        got = (row["status_now"], row["booking"]) if row else None
        if got != (patient.expected_status, patient.expected_booking):
            mismatches.append(f"{patient.mrn}: planned {patient.expected_status}/{patient.expected_booking}, got {got}")
    mismatches += [f"{mrn}: listed but not planned" for mrn in rows]
    window = today + timedelta(days=clinic.replacement_window_days)
    urgent = today + timedelta(days=schedule.URGENT_REPLACEMENT_DAYS)
    return Summary(
        today=today,
        patients=Patient.objects.filter(clinic=clinic).count(),
        inactive_patients=Patient.objects.filter(clinic=clinic).exclude(status="active").count(),
        by_status=Counter(pumps.values_list("status_now", "booking")),
        awaiting_review=Refill.objects.filter(pump__clinic=clinic, needs_review=True).count(),
        replacement_urgent=pumps.filter(replacement_due__lte=urgent).count(),
        replacement_planned=pumps.filter(replacement_due__gt=urgent, replacement_due__lte=window).count(),
        eri_reached=pumps.filter(eri_date__lte=today).count(),
        appointments_next_week=Appointment.objects.filter(
            patient__clinic=clinic, status="scheduled", local_date__gte=today, local_date__lte=today + timedelta(7)
        ).count(),
        mismatches=mismatches,
    )
