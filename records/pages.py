"""What the patient and pump pages do beyond one form: the chart's data, the timeline,
implanting (patient, pump and first fill together) and explanting.
"""

import logging
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils.safestring import SafeString

from patients.models import Patient, Pump
from records.chart import ChartFill, reservoir_chart
from refills import schedule
from refills import services as refill_services
from refills.models import Appointment, ProgramChange, Refill
from refills.services import fill_cycle
from worklist import materialise as worklist_sync

logger = logging.getLogger(__name__)

CHART_FILLS = 3  # the chart shows about the last three fills


def pump_chart(pump: Pump, today: date, refills=None, changes=None) -> SafeString:
    """The projected-volume SVG of a pump over its last few fills (empty without a fill).

    ``refills`` and ``changes``: the pump's rows if the caller has already read them.
    """
    if refills is not None:
        refills = sorted(refills, key=lambda r: (r.performed_on, r.pk))[-CHART_FILLS:]
    else:
        refills = list(pump.refills.order_by("-performed_on", "-id")[:CHART_FILLS])[::-1]
    if not refills:
        return reservoir_chart([], reservoir_ml=pump.reservoir_ml, alarm_volume_ml=pump.alarm_volume_ml, today=today)
    if changes is not None:
        changes = sorted((c for c in changes if c.performed_on > refills[0].performed_on), key=lambda c: c.performed_on)
    else:
        changes = list(pump.program_changes.filter(performed_on__gt=refills[0].performed_on).order_by("performed_on"))
    fills = []
    for index, refill in enumerate(refills):
        following = refills[index + 1].performed_on if index + 1 < len(refills) else None
        # Each cycle only knows the program changes before the next fill replaced it.
        own = [c for c in changes if following is None or c.performed_on < following]
        fills.append(
            ChartFill(
                fill_cycle(refill, own),
                None if refill.is_initial_fill else refill.volume_removed_ml,
            )
        )
    return reservoir_chart(
        fills,
        reservoir_ml=pump.reservoir_ml,
        alarm_volume_ml=pump.alarm_volume_ml,
        today=today,
        refill_due=pump.refill_due,
        alarm_date=pump.alarm_date,
        change_dates=[c.performed_on for c in changes],
        chart_id=f"reservoir-chart-{pump.pk}",
        title=f"Projected reservoir volume of pump {pump.serial_number}",
    )


# A refill awaiting review, in the pump's status area (SPEC 8: a flagged under-delivery is a
# danger, named in words beside the status, never an "OK" alone): tone (badge class), words.
UNDER_DELIVERY_FLAG = ("under_delivery", "Under-delivery: review")
OVER_DELIVERY_FLAG = ("over_delivery", "Over-delivery: review")


def review_flags(refills) -> list[tuple[str, str]]:
    """The pump's refills awaiting review as status badges, under-delivery first (more left than
    expected: withdrawal risk, refills.dangers.under_delivery_q), one badge per kind."""
    flagged = [r for r in refills if r.needs_review]
    flags = []
    if any(r.residual_discrepancy_ml is not None and r.residual_discrepancy_ml > 0 for r in flagged):
        flags.append(UNDER_DELIVERY_FLAG)
    if any(r.residual_discrepancy_ml is None or r.residual_discrepancy_ml <= 0 for r in flagged):
        flags.append(OVER_DELIVERY_FLAG)
    return flags


def risk_labels(patient: Patient) -> list[str]:
    """The patient's risk flags in the clinic's words (empty when not high risk)."""
    flags = [
        (patient.sci_t6_or_above, "SCI at/above T6"),
        (patient.communication_difficulty, "communication difficulty"),
        (patient.previous_withdrawal, "previous withdrawal"),
    ]
    return [label for on, label in flags if on]


@dataclass
class TimelineEvent:
    day: date
    kind: str  # implant, refill, program_change, appointment, explant
    obj: object = None
    pump: Pump | None = None
    flagged: bool = False  # a refill whose residual discrepancy exceeds the threshold


ORDER_ON_A_DAY = {"explant": 0, "appointment": 1, "program_change": 2, "refill": 3, "implant": 4}


def patient_timeline(patient: Patient, pumps, refills=None, changes=None, appointments=None) -> list[TimelineEvent]:
    """Implants, fills, program changes, past appointments and explants, newest first.

    ``refills``, ``changes`` and ``appointments``: the patient's rows if already read
    (refills with performed_by and reviewed_by, changes with performed_by, appointments
    with assigned_to), so the patient page reads each table once.
    """
    if refills is None:
        refills = Refill.objects.filter(pump__patient=patient).select_related("performed_by", "reviewed_by")
    if changes is None:
        changes = ProgramChange.objects.filter(pump__patient=patient).select_related("performed_by")
    if appointments is None:
        appointments = patient.appointments.exclude(status=Appointment.Status.SCHEDULED).select_related("assigned_to")
    events = []
    for pump in pumps:
        events.append(TimelineEvent(pump.implant_date, "implant", pump, pump))
        if pump.explant_date:
            events.append(TimelineEvent(pump.explant_date, "explant", pump, pump))
    by_id = {p.pk: p for p in pumps}
    for refill in refills:
        pump = by_id.get(refill.pump_id)
        flagged = refill.residual_discrepancy_ml is not None and schedule.discrepancy_flagged(
            refill.residual_discrepancy_ml, pump.reservoir_ml
        )
        events.append(TimelineEvent(refill.performed_on, "refill", refill, pump, flagged))
    for change in changes:
        events.append(TimelineEvent(change.performed_on, "program_change", change, by_id.get(change.pump_id)))
    # Scheduled appointments are listed as upcoming; the timeline keeps what happened to the others.
    for appointment in (a for a in appointments if a.status != Appointment.Status.SCHEDULED):
        events.append(TimelineEvent(appointment.local_date, "appointment", appointment, by_id.get(appointment.pump_id)))
    events.sort(key=lambda e: (e.day, -ORDER_ON_A_DAY[e.kind]), reverse=True)
    return events


@transaction.atomic
def implant(patient_form, pump_form, fill_form, user) -> Pump:
    """Save a (new or existing) patient's pump and its first fill together; forms already valid."""
    patient = patient_form.save() if patient_form is not None else pump_form.patient
    pump_form.patient = patient
    pump = pump_form.save(commit=False)
    fill_form.pump = pump
    fill_form.instance.performed_by = user
    return refill_services.implant(pump, fill_form.save(commit=False))


def explant(pump: Pump, explant_date: date) -> int:
    """Mark a pump explanted and cancel its scheduled appointments; returns how many were cancelled."""
    return refill_services.explant(pump, explant_date)


def sync_worklist(pump: Pump | None) -> None:
    """The pump's worklist items brought in line right after a page's service committed (a fill,
    a program change, an appointment, a pump edit): a new danger is on /worklist/ at once, not at
    the next periodic sync. A failure here leaves what was recorded as it is (logged, ids only):
    the periodic sync (worklist.tasks) catches up."""
    if pump is None:
        return
    try:
        worklist_sync.sync_pump(pump)
    except Exception:
        logger.exception("worklist sync failed for pump %s", pump.pk)
