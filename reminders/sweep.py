"""The reminder sweep: what is due now, per clinic, in the clinic's time zone.

A reminder is never scheduled ahead. Every few minutes ``run_sweep(now)`` looks at each
clinic's appointments, pumps and members, works out which reminders are due at ``now``
(including those that came due while nothing was running), and writes one outbox row
each. The unique key (kind, target, key_date) makes a second row impossible, so any
number of sweeps, concurrent or late, write each reminder once. Rows are sent by
reminders.delivery through the ``send_reminder`` task, enqueued when the row commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic import job_runs
from clinic.models import Clinic, Membership
from patients.models import Patient, Pump
from refills import schedule
from refills.models import Appointment
from reminders.models import Reminder, SweepRun

logger = logging.getLogger(__name__)

Kind, Status = Reminder.Kind, Reminder.Status
MORNING = time(9, 0)  # patient emails go out from 09:00 clinic-local
NEEDS_REFILL = (schedule.DUE_SOON, schedule.OVERDUE, schedule.ALARMING, schedule.EMPTY)
ESCALATE = (schedule.ALARMING, schedule.EMPTY)
DIGEST_LOOKBACK_DAYS = 7  # missed digests older than this are not even recorded
PENDING_GRACE = timedelta(minutes=2)  # a pending row this far past its time has lost its task
SWEEP_HISTORY = timedelta(days=7)  # how long sweep runs are kept
JOB_NAME = "reminder_sweep"  # its last run in clinic.job_runs (the health view)


@dataclass(frozen=True)
class Due:
    """A reminder that should exist now (not yet a row)."""

    kind: str
    target: str
    key_date: date
    due_at: datetime
    recipient_email: str
    expires_at: datetime | None = None
    recipient_user_id: int | None = None
    patient_id: int | None = None
    pump_id: int | None = None
    appointment_id: int | None = None
    pump_status: str = ""
    status: str = Status.PENDING
    note: str = ""

    @property
    def key(self) -> tuple:
        return (self.kind, self.target, self.key_date)


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``at`` o'clock on ``day`` in ``zone``, as UTC (DST-aware: 09:00 is 09:00 all year)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def local_today(clinic: Clinic, now: datetime) -> date:
    return timezone.localtime(now, clinic.zone).date()


# What is due -------------------------------------------------------------------------


def appointment_reminders_due(clinic: Clinic, now: datetime) -> list[Due]:
    """At each lead day before a scheduled appointment, 09:00 local; never once it started.

    If the system was down through a lead day's morning (or the appointment was booked
    inside the lead time), only the latest lead day that has passed is sent: one late
    reminder, not a burst, and not before this morning's 09:00 unless the appointment
    starts earlier than that.
    """
    lead_days = sorted(set(clinic.appointment_reminder_lead_days or []))
    if not lead_days:
        return []
    today = local_today(clinic, now)
    morning = local_moment(today, MORNING, clinic.zone)
    appointments = Appointment.objects.filter(
        patient__clinic=clinic,
        status=Appointment.Status.SCHEDULED,
        starts_at__gt=now,  # never after it started
        local_date__lte=today + timedelta(days=max(lead_days)),
        patient__status=Patient.Status.ACTIVE,
        patient__reminders_opt_in=True,
    ).exclude(patient__email="")
    # A candidate's implant is arranged by the screening team, not reminded as a pump visit.
    appointments = appointments.exclude(kind=Appointment.Kind.IMPLANT)
    appointments = list(appointments.select_related("patient").order_by("pk"))
    # The pump's status on the sweep's date decides the email's wording (urgent when past due).
    pump_status = dict(
        Pump.objects.filter(pk__in={a.pump_id for a in appointments if a.pump_id})
        .with_status(today)
        .values_list("pk", "status_now")
    )
    due = []
    for appointment in appointments:
        moments = [
            (local_moment(appointment.local_date - timedelta(days=lead), MORNING, clinic.zone), lead)
            for lead in lead_days
        ]
        passed = [(moment, lead) for moment, lead in moments if moment <= now and moment < appointment.starts_at]
        if not passed or (now < morning < appointment.starts_at):
            continue
        moment, lead = max(passed)
        due.append(
            Due(
                kind=Kind.APPOINTMENT,
                target=f"appointment:{appointment.pk}",
                key_date=appointment.local_date - timedelta(days=lead),
                due_at=moment,
                expires_at=appointment.starts_at,
                recipient_email=appointment.patient.email,
                patient_id=appointment.patient_id,
                pump_id=appointment.pump_id,
                appointment_id=appointment.pk,
                pump_status=pump_status.get(appointment.pump_id, ""),
            )
        )
    return due


def refill_nudges_due(clinic: Clinic, now: datetime) -> list[Due]:
    """Once per due cycle (keyed by refill due), from 09:00 local, while due soon or worse and unbooked."""
    today = local_today(clinic, now)
    morning = local_moment(today, MORNING, clinic.zone)
    if now < morning:
        return []
    pumps = (
        Pump.objects.active()
        .filter(clinic=clinic, patient__reminders_opt_in=True)
        .exclude(patient__email="")
        .with_status_in(NEEDS_REFILL, today)
        .with_status(today)
        .filter(booking=schedule.UNBOOKED)
        .select_related("patient")
        .order_by("pk")
    )
    return [
        Due(
            kind=Kind.REFILL_NEEDED,
            target=f"pump:{pump.pk}",
            key_date=pump.refill_due,
            due_at=morning,
            recipient_email=pump.patient.email,
            patient_id=pump.patient_id,
            pump_id=pump.pk,
            pump_status=pump.status_now,
        )
        for pump in pumps
    ]


def digests_due(clinic: Clinic, now: datetime, since: datetime | None) -> list[Due]:
    """Each opted-in member's digest at the digest hour of each working day.

    A digest up to REMINDER_DIGEST_MAX_AGE_HOURS old is still sent; an older one that
    fell after the previous sweep (``since``), i.e. while nothing ran, is recorded as
    `skipped` so the outbox shows it was missed.
    """
    members = list(
        Membership.objects.filter(clinic=clinic, digest_opt_in=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("pk")
    )
    if not members:
        return []
    max_age = timedelta(hours=settings.REMINDER_DIGEST_MAX_AGE_HOURS)
    today = local_today(clinic, now)
    working_days = set(clinic.working_days or [])
    due = []
    for offset in range(DIGEST_LOOKBACK_DAYS + 1):
        day = today - timedelta(days=offset)
        if day.weekday() not in working_days:
            continue
        moment = local_moment(day, time(clinic.digest_hour), clinic.zone)
        if moment > now:
            continue
        if now - moment <= max_age:
            status, note = Status.PENDING, ""
        elif since is not None and moment > since:
            status, note = Status.SKIPPED, f"Not sent: more than {settings.REMINDER_DIGEST_MAX_AGE_HOURS} hours late."
        else:
            continue
        due += [
            Due(
                kind=Kind.DIGEST,
                target=f"membership:{member.pk}",
                key_date=day,
                due_at=moment,
                expires_at=moment + max_age,
                recipient_email=member.user.email,
                recipient_user_id=member.user_id,
                status=status,
                note=note,
            )
            for member in members
        ]
    return due


def escalation_recipients(clinic: Clinic, patient: Patient, admins: list, member_ids: set) -> list:
    """The patient's assigned manager (if still a member) and the clinic admins, once each."""
    recipients = {}
    manager = patient.manager
    if manager is not None and manager.is_active and manager.email and manager.pk in member_ids:
        recipients[manager.pk] = manager
    for user in admins:
        recipients.setdefault(user.pk, user)
    return list(recipients.values())


def escalations_due(clinic: Clinic, now: datetime) -> list[Due]:
    """As soon as a pump is alarming or empty: one per recipient per status per fill cycle."""
    today = local_today(clinic, now)
    pumps = list(
        Pump.objects.active()
        .filter(clinic=clinic)
        .with_status_in(ESCALATE, today)
        .with_status(today)
        .select_related("patient__manager")
        .order_by("pk")
    )
    if not pumps:
        return []
    memberships = Membership.objects.filter(clinic=clinic).select_related("user")
    member_ids = {m.user_id for m in memberships}
    admins = [m.user for m in memberships if m.role == Membership.Role.ADMIN and m.user.is_active and m.user.email]
    due = []
    for pump in pumps:
        turned_on = pump.empty_date if pump.status_now == schedule.EMPTY else pump.alarm_date
        for user in escalation_recipients(clinic, pump.patient, admins, member_ids):
            due.append(
                Due(
                    kind=Kind.ESCALATION,
                    target=f"pump:{pump.pk}:{pump.status_now}:user:{user.pk}",
                    key_date=pump.last_refill_date,  # the fill cycle
                    due_at=local_moment(turned_on, time(0), clinic.zone),
                    recipient_email=user.email,
                    recipient_user_id=user.pk,
                    patient_id=pump.patient_id,
                    pump_id=pump.pk,
                    pump_status=pump.status_now,
                )
            )
    return due


# Writing rows --------------------------------------------------------------------------


def write_rows(clinic: Clinic, due: list[Due], now: datetime) -> list[int]:
    """Insert the rows that do not exist yet; return the ids of new pending rows.

    Call inside a transaction. Keys are inserted in a fixed order so concurrent sweeps
    wait on each other instead of deadlocking; the loser's insert hits the unique
    constraint and is dropped.
    """
    if not due:
        return []
    existing = set(
        Reminder.objects.filter(clinic=clinic, target__in={d.target for d in due}).values_list(
            "kind", "target", "key_date"
        )
    )
    created = []
    for item in sorted({d.key: d for d in due}.values(), key=lambda d: d.key):
        if item.key in existing:
            continue
        try:
            with transaction.atomic():
                row = Reminder.objects.create(
                    clinic=clinic,
                    kind=item.kind,
                    target=item.target,
                    key_date=item.key_date,
                    recipient_email=item.recipient_email,
                    recipient_user_id=item.recipient_user_id,
                    patient_id=item.patient_id,
                    pump_id=item.pump_id,
                    appointment_id=item.appointment_id,
                    pump_status=item.pump_status,
                    status=item.status,
                    last_error=item.note,
                    due_at=item.due_at,
                    expires_at=item.expires_at,
                    next_attempt_at=now,
                )
        except IntegrityError:
            continue  # a concurrent sweep wrote it first
        if row.status == Status.PENDING:
            created.append(row.pk)
    return created


def sweep_clinic(clinic: Clinic, now: datetime, since: datetime | None = None) -> int:
    """Write the rows due now for one clinic in one transaction; enqueue them on commit."""
    from reminders.tasks import enqueue_send

    with transaction.atomic():
        due = []
        if clinic.reminders_enabled:  # the patient emails; staff alerts always go
            due += appointment_reminders_due(clinic, now)
            due += refill_nudges_due(clinic, now)
        due += digests_due(clinic, now, since)
        due += escalations_due(clinic, now)
        created = write_rows(clinic, due, now)
        for reminder_id in created:
            enqueue_send(reminder_id)
    if created:
        logger.info("reminder sweep: clinic %s, %d new rows", clinic.pk, len(created))
    return len(created)


# Recovering rows -----------------------------------------------------------------------


def requeue_stuck(now: datetime) -> int:
    """Rows left in `sending` by a worker that died: pending again (or failed when out of attempts)."""
    from reminders.tasks import enqueue_send

    cutoff = now - timedelta(seconds=settings.REMINDER_STUCK_SENDING_SECONDS)
    requeued = 0
    stuck = Reminder.objects.filter(status=Status.SENDING, claimed_at__lt=cutoff)
    for pk, attempts, claimed_at in stuck.values_list("pk", "attempts", "claimed_at")[:1000]:
        # Conditional: only if it is still the same stuck claim.
        row = Reminder.objects.filter(pk=pk, status=Status.SENDING, claimed_at=claimed_at)
        if attempts >= settings.REMINDER_MAX_ATTEMPTS:
            row.update(status=Status.FAILED, last_error="The worker stopped during the last attempt.", updated_at=now)
            logger.warning("reminder %s failed: worker stopped during the last attempt", pk)
            continue
        if row.update(
            status=Status.PENDING, next_attempt_at=now, last_error="The worker stopped during a send.", updated_at=now
        ):
            logger.warning("reminder %s was stuck in sending; requeued", pk)
            enqueue_send(pk)
            requeued += 1
    return requeued


def requeue_pending(now: datetime) -> int:
    """Pending rows well past their time have lost their task (broker down at commit): enqueue again.

    A duplicate task is harmless: only one claim can succeed.
    """
    from reminders.tasks import enqueue_send

    late = Reminder.objects.filter(status=Status.PENDING, next_attempt_at__lte=now - PENDING_GRACE)
    ids = list(late.order_by("next_attempt_at").values_list("pk", flat=True)[:1000])
    for pk in ids:
        enqueue_send(pk)
    if ids:
        logger.info("reminder sweep: %d pending rows enqueued again", len(ids))
    return len(ids)


def run_sweep(now: datetime | None = None) -> SweepRun:
    """One sweep over every clinic, then recovery of stuck and lost rows."""
    now = now or timezone.now()
    previous = SweepRun.objects.filter(finished_at__isnull=False).order_by("-started_at").first()
    since = previous.started_at if previous else None
    with job_runs.record_run(JOB_NAME) as job:
        run = SweepRun.objects.create(started_at=now)
        for clinic in Clinic.objects.order_by("pk"):
            try:
                run.rows_created += sweep_clinic(clinic, now, since)
            except Exception as exc:  # one clinic's bad data must not stop the others' reminders
                logger.exception("reminder sweep failed for clinic %s", clinic.pk)
                run.clinics_failed += 1
                job.failed(exc)
        run.rows_requeued = requeue_stuck(now) + requeue_pending(now)
        run.finished_at = timezone.now()
        run.save(update_fields=["rows_created", "rows_requeued", "clinics_failed", "finished_at"])
    SweepRun.objects.filter(started_at__lt=now - SWEEP_HISTORY).delete()  # 288 runs a day add up
    return run
