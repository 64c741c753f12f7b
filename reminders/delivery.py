"""Sending one outbox row: claim, check, render, send, mark.

A worker claims a row with a conditional UPDATE (pending -> sending) and goes on only
when exactly one row changed, so two workers holding the same task id never both
send. The row is marked sent only after the mail server accepted the message: a
worker killed in between leaves it in `sending`, and the sweep sends it again (the
one window in which a duplicate is possible). A failure counts an attempt and waits
with exponential backoff; after REMINDER_MAX_ATTEMPTS the row is `failed` and shown in
the outbox. Logs name reminder ids only, never a patient's name or address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from urllib.parse import urlparse

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _

from clinic.models import Membership
from patients.models import Patient, Pump
from refills import schedule
from refills.models import Appointment
from reminders.digest import digest_context, pump_row
from reminders.models import Reminder, unsubscribe_token

logger = logging.getLogger(__name__)

Kind, Status = Reminder.Kind, Reminder.Status
# Two workers' clocks may differ a little; a retry task may arrive just before its time.
CLAIM_TOLERANCE = timedelta(seconds=5)

SENT, SKIPPED, FAILED, RETRY, NOT_CLAIMED = "sent", "skipped", "failed", "retry", "not_claimed"


@dataclass(frozen=True)
class Outcome:
    result: str
    retry_at: datetime | None = None


def backoff_seconds(attempts: int) -> int:
    """Wait after the ``attempts``-th failed attempt: base, 2 x base, 4 x base ... up to the cap."""
    return min(settings.REMINDER_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), settings.REMINDER_BACKOFF_MAX_SECONDS)


def claim(reminder_id: int, now: datetime) -> bool:
    """Move a pending row to `sending` and count the attempt; True only for the one claimant."""
    changed = Reminder.objects.filter(
        pk=reminder_id, status=Status.PENDING, next_attempt_at__lte=now + CLAIM_TOLERANCE
    ).update(status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now)
    return changed == 1


def _finish(reminder: Reminder, **fields) -> bool:
    """Update the row we claimed, only if our claim still holds (the sweep did not requeue it)."""
    fields.setdefault("updated_at", timezone.now())
    changed = Reminder.objects.filter(pk=reminder.pk, status=Status.SENDING, claimed_at=reminder.claimed_at).update(
        **fields
    )
    if changed != 1:
        logger.warning("reminder %s: claim lost before it was marked %s", reminder.pk, fields.get("status"))
    return changed == 1


def deliver(reminder_id: int, now: datetime | None = None) -> Outcome:
    """Claim and send one reminder; the plain function behind the ``send_reminder`` task."""
    now = now or timezone.now()
    if not claim(reminder_id, now):
        logger.info("reminder %s not claimed (already taken, done or not yet due)", reminder_id)
        return Outcome(NOT_CLAIMED)
    reminder = Reminder.objects.select_related(
        "clinic", "patient", "pump__patient", "appointment", "recipient_user"
    ).get(pk=reminder_id)
    reason = reason_not_to_send(reminder, now)
    if reason:
        _finish(reminder, status=Status.SKIPPED, last_error=reason)
        logger.info("reminder %s skipped", reminder_id)
        return Outcome(SKIPPED)
    try:
        message = build_message(reminder, now)
        message.send(fail_silently=False)
    except Exception as error:  # SMTP, network, template: the row records it and retries
        return record_failure(reminder, error)
    _finish(reminder, status=Status.SENT, sent_at=timezone.now(), last_error="", recipient_email=message.to[0])
    logger.info("reminder %s sent (attempt %d)", reminder_id, reminder.attempts)
    return Outcome(SENT)


def record_failure(reminder: Reminder, error: Exception) -> Outcome:
    """Count the failed attempt: wait with backoff, or give up as `failed` when out of attempts."""
    message = f"{type(error).__name__}: {error}"[:1000]
    if reminder.attempts >= settings.REMINDER_MAX_ATTEMPTS:
        _finish(reminder, status=Status.FAILED, last_error=message)
        logger.error("reminder %s failed after %d attempts (%s)", reminder.pk, reminder.attempts, type(error).__name__)
        return Outcome(FAILED)
    retry_at = timezone.now() + timedelta(seconds=backoff_seconds(reminder.attempts))
    _finish(reminder, status=Status.PENDING, next_attempt_at=retry_at, last_error=message)
    logger.warning("reminder %s attempt %d failed (%s)", reminder.pk, reminder.attempts, type(error).__name__)
    return Outcome(RETRY, retry_at)


# Is it still right to send? ----------------------------------------------------------


def reason_not_to_send(reminder: Reminder, now: datetime) -> str:
    """Why this reminder must not go out now (things changed since the sweep), or ''."""
    if reminder.expires_at is not None and now >= reminder.expires_at:
        if reminder.kind == Kind.APPOINTMENT:
            return _("Not sent: the appointment had started.")
        return _("Not sent: more than %(hours)d hours late.") % {"hours": settings.REMINDER_DIGEST_MAX_AGE_HOURS}
    if reminder.is_for_patient:
        return _patient_reason(reminder, now)
    return _member_reason(reminder)


def _patient_reason(reminder: Reminder, now: datetime) -> str:
    patient = reminder.patient
    if patient is None:
        return _("Not sent: the patient record was removed.")
    if not patient.reminders_opt_in:
        return _("Not sent: the patient turned reminders off.")
    if patient.status != Patient.Status.ACTIVE:
        return _("Not sent: the patient is no longer followed.")
    if not patient.email:
        return _("Not sent: the patient has no email address.")
    if reminder.kind == Kind.APPOINTMENT:
        appointment = reminder.appointment
        if appointment is None or appointment.status != Appointment.Status.SCHEDULED:
            return _("Not sent: the appointment is no longer scheduled.")
        if appointment.starts_at <= now:
            return _("Not sent: the appointment had started.")
        if (appointment.local_date - reminder.key_date).days not in (
            reminder.clinic.appointment_reminder_lead_days or []
        ):
            return _("Not sent: the appointment was moved (a new reminder follows).")
        return ""
    pump = reminder.pump
    if pump is None or pump.status != Pump.Status.ACTIVE or pump.refill_due != reminder.key_date:
        return _("Not sent: the pump was refilled or changed since.")
    today = reminder.clinic.today()
    status, booking = Pump.objects.filter(pk=pump.pk).with_status(today).values_list("status_now", "booking").get()
    if booking != schedule.UNBOOKED:
        return _("Not sent: a refill has been booked.")
    if status in (schedule.OK, schedule.NO_FILL):
        return _("Not sent: the refill is no longer due.")
    return ""


def _member_reason(reminder: Reminder) -> str:
    user = reminder.recipient_user
    if user is None or not user.is_active or not user.email:
        return _("Not sent: the member's account is inactive or has no email address.")
    membership = Membership.objects.filter(clinic=reminder.clinic, user=user).first()
    if membership is None:
        return _("Not sent: no longer a member of the clinic.")
    if reminder.kind == Kind.DIGEST and not membership.digest_opt_in:
        return _("Not sent: the member turned the digest off.")
    if reminder.kind == Kind.ESCALATION:
        pump = reminder.pump
        if pump is None or pump.status != Pump.Status.ACTIVE or pump.last_refill_date != reminder.key_date:
            return _("Not sent: the pump was refilled or explanted since.")
    return ""


# Content -------------------------------------------------------------------------------

# SPEC 8: "Wed 25 Nov 2026" in every email, whatever DATE_FORMAT the pages use (the
# templates spell the same format out in their |date filters).
EMAIL_DATE_FORMAT = "D j M Y"
# A pump past its refill due, alarming or empty: the patient is told to call today.
URGENT_STATUSES = (schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE)

SAFETY_LINE = _(
    "Sudden return of spasticity, itching, fever, confusion or a pump alarm means: call the clinic at once "
    "or go to the emergency department and mention the pump."
)
APPOINTMENT_KINDS = {
    Appointment.Kind.REFILL: _("pump refill"),
    Appointment.Kind.REPLACEMENT: _("pump replacement"),
    Appointment.Kind.REVIEW: _("pump review"),
}


def email_date(day) -> str:
    return dateformat.format(day, EMAIL_DATE_FORMAT) if day else ""


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def sender(clinic) -> str:
    """Patient emails come from the clinic's name at the configured address (SPEC 8).

    formataddr quotes a name with a comma and encodes a non-ASCII one, so any clinic
    name makes a valid From header.
    """
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
    return formataddr((clinic.name, address))


def urgent_status(reminder: Reminder) -> str:
    """The pump status that makes a patient email urgent, or '' for the ordinary wording.

    The status on the sweep's date (stored on the row), or a worse one on the day the
    email goes out (a row retried over days): never gentler than the sweep saw it.
    """
    seen = [reminder.pump_status] if reminder.pump_status else []
    if reminder.pump_id is not None:
        today = reminder.clinic.today()
        seen += Pump.objects.filter(pk=reminder.pump_id).with_status(today).values_list("status_now", flat=True)
    urgent = [status for status in seen if status in URGENT_STATUSES]
    return min(urgent, key=schedule.STATUS_SEVERITY.__getitem__) if urgent else ""


def _appointment_context(reminder: Reminder, now: datetime) -> tuple[str, dict]:
    appointment = reminder.appointment
    urgent = urgent_status(reminder)
    values = {"clinic": reminder.clinic.name, "date": email_date(appointment.local_date)}
    if urgent:
        subject = _("Urgent: please call %(clinic)s today (your appointment is on %(date)s)") % values
    else:
        subject = _("Reminder: your appointment at %(clinic)s on %(date)s") % values
    return subject, {
        "appointment": appointment,
        "appointment_kind": APPOINTMENT_KINDS.get(appointment.kind, appointment.kind),
        "urgent": urgent,
        "refill_due": reminder.pump.refill_due if reminder.pump else None,
    }


def _refill_needed_context(reminder: Reminder, now: datetime) -> tuple[str, dict]:
    urgent = urgent_status(reminder)
    if urgent:
        subject = _("Urgent: please call %(clinic)s today about your pump refill") % {"clinic": reminder.clinic.name}
    else:
        subject = _("%(clinic)s: time to book your pump refill") % {"clinic": reminder.clinic.name}
    return subject, {"refill_due": reminder.pump.refill_due, "urgent": urgent}


def _digest_context(reminder: Reminder, now: datetime) -> tuple[str, dict]:
    context = digest_context(reminder.clinic, reminder.key_date)
    subject = _("%(clinic)s digest for %(date)s: %(count)d need attention") % {
        "clinic": reminder.clinic.name,
        "date": email_date(reminder.key_date),
        "count": context["attention_count"],
    }
    return subject, context


def _escalation_context(reminder: Reminder, now: datetime) -> tuple[str, dict]:
    today = reminder.clinic.today()
    pump = Pump.objects.with_status(today).select_related("patient__manager").get(pk=reminder.pump_id)
    row = pump_row(pump)
    subject = _("%(status)s: pump of patient %(mrn)s (%(clinic)s)") % {
        "status": row["status_label"].upper(),
        "mrn": row["mrn"],
        "clinic": reminder.clinic.name,
    }
    manager = pump.patient.manager
    return subject, {
        "row": row,
        "pump": pump,
        "manager_name": manager.get_full_name() or manager.username if manager else "",
    }


CONTEXTS = {
    Kind.APPOINTMENT: _appointment_context,
    Kind.REFILL_NEEDED: _refill_needed_context,
    Kind.DIGEST: _digest_context,
    Kind.ESCALATION: _escalation_context,
    # Kind.UNCLAIMED (the worklist's escalation digest) is registered by the worklist app
    # (worklist.escalation.email_context): its items live above this layer.
}


def build_message(reminder: Reminder, now: datetime) -> EmailMultiAlternatives:
    """The email for a row, text and HTML, to the recipient's current address."""
    clinic = reminder.clinic
    subject, context = CONTEXTS[reminder.kind](reminder, now)
    context.update(clinic=clinic, reminder=reminder, safety_line=SAFETY_LINE, site_url=settings.SITE_URL)
    domain = urlparse(settings.SITE_URL).hostname or "itb-caseload.invalid"
    headers = {
        # The same Message-ID on every attempt lets a receiving server drop a duplicate.
        "Message-ID": f"<reminder-{reminder.pk}@{domain}>",
        "Auto-Submitted": "auto-generated",
    }
    if reminder.is_for_patient:
        to = reminder.patient.email
        unsubscribe_url = absolute(reverse("unsubscribe", args=[unsubscribe_token(reminder)]))
        context["unsubscribe_url"] = unsubscribe_url
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    else:
        to = reminder.recipient_user.email
        context["outbox_url"] = absolute(reverse("outbox"))
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"reminders/{reminder.kind}.txt", context),
        from_email=sender(clinic) if reminder.is_for_patient else settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[clinic.email] if clinic.email else None,
        headers=headers,
    )
    message.attach_alternative(render_to_string(f"reminders/{reminder.kind}.html", context), "text/html")
    return message
