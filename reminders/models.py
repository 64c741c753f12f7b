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
from clinic.scoping import ClinicScope
from patients.models import Patient, Pump
from refills.labels import STATUS_LABELS

UNSUBSCRIBE_SALT = "refills.reminders.unsubscribe"  # as before the move: links already mailed keep working


class ReminderQuerySet(models.QuerySet):
    def failed(self):
        return self.filter(status=Reminder.Status.FAILED)

    def failed_count(self, clinic) -> int:
        """The number on the Today page and the health view: failures nobody retried."""
        return self.failed().filter(clinic=clinic).count()

    def failing_since_count(self, since) -> int:
        """Rows whose latest send attempt failed at or after ``since``: waiting to retry, or given up.

        Two counts, each within one of the small partial indexes (pending, failed) rather
        than an OR over the whole outbox.
        """
        retrying = self.filter(status=Reminder.Status.PENDING, attempts__gt=0, updated_at__gte=since)
        gave_up = self.failed().filter(updated_at__gte=since)
        return retrying.count() + gave_up.count()


class Reminder(models.Model):
    class Kind(models.TextChoices):
        APPOINTMENT = "appointment", _("Appointment reminder")
        REFILL_NEEDED = "refill_needed", _("Refill needed, not booked")
        DIGEST = "digest", _("Staff digest")
        ESCALATION = "escalation", _("Escalation")
        UNCLAIMED = "unclaimed", _("Worklist item unclaimed")

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
    # The pump's status on the sweep's date: what triggered an escalation; the wording of a patient email.
    pump_status = models.CharField(_("pump status"), max_length=12, blank=True)

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

    clinic_scope = ClinicScope("clinic")

    class Meta:
        db_table = "refills_reminder"  # the table of the code before the move (issue 14)
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

    @property
    def pump_status_label(self) -> str:
        """The pump's status at the sweep in the clinic's words ('' when none was recorded)."""
        return str(STATUS_LABELS.get(self.pump_status, self.pump_status))


class SweepRun(models.Model):
    """One run of the sweep; the health view reports the age of the last finished one."""

    started_at = models.DateTimeField(_("started at"), db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True, db_index=True)
    rows_created = models.PositiveIntegerField(_("rows created"), default=0)
    rows_requeued = models.PositiveIntegerField(_("rows requeued"), default=0)
    clinics_failed = models.PositiveIntegerField(_("clinics that failed"), default=0)

    class Meta:
        db_table = "refills_sweeprun"  # the table of the code before the move (issue 14)
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Sweep {self.started_at:%Y-%m-%d %H:%M:%S}"


def unsubscribe_token(reminder: Reminder) -> str:
    """A signed, salted token naming the email (its outbox row), for the one-click unsubscribe link.

    It carries the reminder's id, which the email's Message-ID already shows, never the
    patient's internal id: the payload of a signed value is readable by whoever holds it.
    """
    return signing.dumps({"r": reminder.pk}, salt=UNSUBSCRIBE_SALT)


def patient_id_from_token(token: str) -> int | None:
    """The patient a token stands for, or None for a forged or damaged token.

    Links emailed before tokens named the reminder carried ``{"patient": id}``; they keep
    working (same salt and key, so nobody without SECRET_KEY can make one).
    """
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    reminder_id = data.get("r")
    if isinstance(reminder_id, int) and not isinstance(reminder_id, bool):
        row = Reminder.objects.filter(pk=reminder_id, kind__in=Reminder.PATIENT_KINDS).values("patient_id").first()
        return row["patient_id"] if row else None
    patient_id = data.get("patient")  # a link from an email sent before this change
    return patient_id if isinstance(patient_id, int) and not isinstance(patient_id, bool) else None
