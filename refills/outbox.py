"""The reminder outbox: one row per email that is due, and a record of each sweep.

A row's unique key (kind, target, key_date) makes a second copy of the same reminder
impossible, whoever writes it and however often. Workers move a row from `pending`
to `sending` with a conditional UPDATE and then to `sent`, `failed` or `skipped`.
"""

from django.conf import settings
from django.core import signing
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic.models import Clinic
from patients.models import Patient, Pump

UNSUBSCRIBE_SALT = "refills.reminders.unsubscribe"


class ReminderQuerySet(models.QuerySet):
    def failed(self):
        return self.filter(status=Reminder.Status.FAILED)

    def failed_count(self, clinic) -> int:
        """The number on the Today page and the health view: failures nobody retried."""
        return self.failed().filter(clinic=clinic).count()


class Reminder(models.Model):
    class Kind(models.TextChoices):
        APPOINTMENT = "appointment", _("Appointment reminder")
        REFILL_NEEDED = "refill_needed", _("Refill needed, not booked")
        DIGEST = "digest", _("Staff digest")
        ESCALATION = "escalation", _("Escalation")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    PATIENT_KINDS = (Kind.APPOINTMENT, Kind.REFILL_NEEDED)

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # What the reminder is about, e.g. "appointment:12" or "pump:5:alarming:user:3".
    target = models.CharField(_("target"), max_length=100)
    # The date of the key: the reminder's day, the refill due date or the fill cycle.
    key_date = models.DateField(_("date"))

    recipient_email = models.EmailField(_("recipient"), blank=True)
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.SET_NULL, related_name="reminders")
    pump = models.ForeignKey(Pump, null=True, blank=True, on_delete=models.SET_NULL, related_name="reminders")
    appointment = models.ForeignKey(
        "refills.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="reminders"
    )
    pump_status = models.CharField(_("pump status"), max_length=12, blank=True)  # escalations: what triggered it

    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    due_at = models.DateTimeField(_("due at"))  # the moment it became due (09:00 local, digest hour ...)
    expires_at = models.DateTimeField(_("not after"), null=True, blank=True)  # appointment start, digest + 12 h
    next_attempt_at = models.DateTimeField(_("next attempt"))  # a pending row may be claimed from then
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ReminderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "target", "key_date"], name="reminder_one_per_kind_target_date"),
        ]
        indexes = [
            # The outbox page: a clinic's recent rows.
            models.Index(fields=["clinic", "-created_at"], name="reminder_outbox_recent"),
            # The sweep: pending rows whose task may have been lost.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="reminder_pending_requeue"),
            # The sweep: rows a dead worker left in `sending`.
            models.Index(fields=["claimed_at"], condition=Q(status="sending"), name="reminder_sending_stuck"),
            # The failed count (Today page, health view).
            models.Index(fields=["clinic"], condition=Q(status="failed"), name="reminder_failed"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_for_patient(self) -> bool:
        return self.kind in self.PATIENT_KINDS


class SweepRun(models.Model):
    """One run of the sweep; the health view reports the age of the last finished one."""

    started_at = models.DateTimeField(_("started at"), db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True, db_index=True)
    rows_created = models.PositiveIntegerField(_("rows created"), default=0)
    rows_requeued = models.PositiveIntegerField(_("rows requeued"), default=0)
    clinics_failed = models.PositiveIntegerField(_("clinics that failed"), default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Sweep {self.started_at:%Y-%m-%d %H:%M:%S}"


def unsubscribe_token(patient: Patient) -> str:
    """A signed, salted token naming the patient, for the one-click unsubscribe link."""
    return signing.dumps({"patient": patient.pk}, salt=UNSUBSCRIBE_SALT)


def patient_id_from_token(token: str) -> int | None:
    """The patient id a token was made for, or None for a forged or damaged token."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    patient_id = data.get("patient") if isinstance(data, dict) else None
    return patient_id if isinstance(patient_id, int) else None
