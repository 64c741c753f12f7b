"""Fill events on a pump's timeline (refills, program changes) and appointments.

Saving or deleting an event refreshes the pump's stored schedule in the same
transaction (refills.services.refresh_pump_schedule).
"""

from datetime import datetime

from django.conf import settings
from django.db import models, transaction
from django.db.models import signals
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Patient, Pump

ML = {"max_digits": 6, "decimal_places": 2}
MCG = {"max_digits": 8, "decimal_places": 2}


class DosingMode(models.TextChoices):
    SIMPLE = "simple", _("Simple continuous")
    FLEX = "flex", _("Flex")


class FillEvent(models.Model):
    """What refills and program changes share: a pump, a local date and who did it."""

    pump = models.ForeignKey(Pump, on_delete=models.CASCADE)
    performed_on = models.DateField(_("date"))
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("performed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        from refills.services import refresh_later_residuals, refresh_pump_schedule

        with transaction.atomic():
            super().save(*args, **kwargs)
            refresh_pump_schedule(self.pump)
            refresh_later_residuals(self.pump, self.performed_on)

    def delete(self, *args, **kwargs):
        from refills.services import refresh_later_residuals, refresh_pump_schedule

        with transaction.atomic():
            result = super().delete(*args, **kwargs)
            refresh_pump_schedule(self.pump)
            refresh_later_residuals(self.pump, self.performed_on)
        return result


class Refill(FillEvent):
    """A refill of the reservoir; the implant's first fill counts as one."""

    pump = models.ForeignKey(Pump, on_delete=models.CASCADE, related_name="refills")
    is_initial_fill = models.BooleanField(_("first fill at implant"), default=False)
    volume_removed_ml = models.DecimalField(_("volume removed (mL)"), null=True, blank=True, **ML)
    volume_added_ml = models.DecimalField(_("volume added (mL)"), null=True, blank=True, **ML)
    volume_after_ml = models.DecimalField(_("reservoir volume after refill (mL)"), **ML)
    concentration_mcg_ml = models.DecimalField(_("concentration (mcg/mL)"), **MCG)
    compounded = models.BooleanField(_("compounded concentration"), default=False)
    daily_dose_mcg = models.DecimalField(_("daily dose (mcg/day)"), **MCG)
    dosing_mode = models.CharField(
        _("dosing mode"), max_length=10, choices=DosingMode.choices, default=DosingMode.SIMPLE
    )
    bolus_allowance_mcg = models.DecimalField(_("max bolus allowance (mcg/day)"), default=0, **MCG)
    bridge_bolus_confirmed = models.BooleanField(_("bridge bolus programmed"), default=False)

    # Set on save from the previous fill cycle.
    expected_residual_ml = models.DecimalField(
        _("expected residual (mL)"), null=True, blank=True, editable=False, max_digits=7, decimal_places=3
    )
    residual_discrepancy_ml = models.DecimalField(
        _("residual discrepancy (mL)"), null=True, blank=True, editable=False, max_digits=7, decimal_places=3
    )
    needs_review = models.BooleanField(_("awaiting review"), default=False, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    review_note = models.TextField(_("review note"), blank=True, editable=False)

    class Meta:
        ordering = ["-performed_on", "-id"]
        get_latest_by = "performed_on"
        constraints = [models.UniqueConstraint(fields=["pump", "performed_on"], name="one_refill_per_pump_per_day")]
        indexes = [
            # The review list: flagged refills not yet acknowledged.
            models.Index(fields=["pump"], condition=models.Q(needs_review=True), name="refill_awaiting_review"),
        ]

    def get_additional_data(self) -> dict:
        """Scope for the audit trail."""
        return {"clinic_id": self.pump.clinic_id, "patient_id": self.pump.patient_id}

    def __str__(self) -> str:
        return f"Refill {self.performed_on} of {self.pump_id}"

    def save(self, *args, **kwargs):
        from refills.services import apply_residual_check

        with transaction.atomic():
            apply_residual_check(self)
            super().save(*args, **kwargs)

    def acknowledge(self, user, note: str) -> None:
        self.needs_review = False
        self.reviewed_by = user
        self.reviewed_at = timezone.now()
        self.review_note = note
        # Only the review fields: the pump's schedule does not change.
        models.Model.save(self, update_fields=["needs_review", "reviewed_by", "reviewed_at", "review_note"])


class ProgramChange(FillEvent):
    """A new daily dose and/or bolus allowance from a date, without a refill."""

    pump = models.ForeignKey(Pump, on_delete=models.CASCADE, related_name="program_changes")
    daily_dose_mcg = models.DecimalField(_("new daily dose (mcg/day)"), null=True, blank=True, **MCG)
    bolus_allowance_mcg = models.DecimalField(_("new max bolus allowance (mcg/day)"), null=True, blank=True, **MCG)
    dosing_mode = models.CharField(_("dosing mode"), max_length=10, choices=DosingMode.choices, blank=True)

    class Meta:
        ordering = ["-performed_on", "-id"]

    def get_additional_data(self) -> dict:
        """Scope for the audit trail (without it a program change was in no patient's history)."""
        return {"clinic_id": self.pump.clinic_id, "patient_id": self.pump.patient_id}

    def __str__(self) -> str:
        return f"Program change {self.performed_on} of {self.pump_id}"


class Appointment(models.Model):
    class Kind(models.TextChoices):
        REFILL = "refill", _("Refill")
        REPLACEMENT = "replacement", _("Replacement")
        REVIEW = "review", _("Review")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("No-show")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="appointments")
    pump = models.ForeignKey(Pump, on_delete=models.CASCADE, null=True, blank=True, related_name="appointments")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.REFILL)
    local_date = models.DateField(_("date"))
    local_time = models.TimeField(_("time"))
    # The same moment in UTC, for reminders ("never after it started").
    starts_at = models.DateTimeField(editable=False)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appointments",
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["local_date", "local_time"]
        indexes = [
            # Booked state and next appointment per pump.
            models.Index(
                fields=["pump", "local_date"],
                condition=models.Q(status="scheduled"),
                name="appointment_scheduled_by_pump",
            ),
            # Appointment reminders sweep.
            models.Index(
                fields=["starts_at"], condition=models.Q(status="scheduled"), name="appointment_scheduled_start"
            ),
        ]

    def get_additional_data(self) -> dict:
        """Scope for the audit trail."""
        return {"clinic_id": self.patient.clinic_id, "patient_id": self.patient_id}

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.local_date} {self.local_time:%H:%M}"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._saved_pump_id = instance.__dict__.get("pump_id")  # the pump to refresh if it moves
        return instance

    def save(self, *args, **kwargs):
        self.starts_at = self.start_moment()
        with transaction.atomic():
            super().save(*args, **kwargs)
            # Booking, reschedule, cancel, complete or a move to another pump: both pumps'
            # stored first booking follow, in the same transaction.
            refresh_first_refill_booking({getattr(self, "_saved_pump_id", None), self.pump_id})
        self._saved_pump_id = self.pump_id

    def start_moment(self) -> datetime:
        """The appointment's start as an aware datetime in the clinic's zone."""
        return datetime.combine(self.local_date, self.local_time, tzinfo=self.patient.clinic.zone)


def scheduled_refills():
    """The appointments that book a refill: the booking state comes from the earliest one."""
    return Appointment.objects.filter(kind=Appointment.Kind.REFILL, status=Appointment.Status.SCHEDULED)


def first_refill_booking(pump_id: int):
    """The date of a pump's earliest scheduled refill, or None."""
    return scheduled_refills().filter(pump=pump_id).order_by("local_date").values_list("local_date", flat=True).first()


def refresh_first_refill_booking(pump_ids) -> None:
    """Store on each pump the date of its earliest scheduled refill (None when there is none).

    One UPDATE whatever the number of pumps; called on every appointment save and delete
    (queryset and cascade deletes too, through the post_delete signal below).
    """
    pump_ids = {pk for pk in pump_ids if pk is not None}
    if pump_ids:
        store_first_refill_booking(Pump.objects.filter(pk__in=pump_ids))


def store_first_refill_booking(pumps) -> int:
    """Recompute the stored first booked refill of every pump of the queryset ``pumps``."""
    first = scheduled_refills().filter(pump=models.OuterRef("pk")).order_by("local_date").values("local_date")[:1]
    return pumps.update(first_refill_booking=models.Subquery(first))


@receiver(signals.post_delete, sender=Appointment)
def _appointment_deleted(sender, instance, **kwargs):
    refresh_first_refill_booking({instance.pump_id})


from refills.models_import_jobs import ImportJob  # noqa: E402,F401
from refills.outbox import Reminder, SweepRun  # noqa: E402,F401
