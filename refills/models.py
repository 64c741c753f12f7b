"""Fill events on a pump's timeline (refills, program changes) and appointments.

Saving a row here changes that row only: the pump's stored dates and booking state are
written by refills.services, which every path that records an event calls.
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic.model_checks import SkipsExcludedConstraints
from clinic.scoping import ClinicScope
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

    clinic_scope = ClinicScope("pump__clinic", audit={"exclude_fields": ["created_at"]}, caseload=True)

    class Meta:
        abstract = True


class Refill(SkipsExcludedConstraints, FillEvent):
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

    # Set by refills.services.record_refill from the previous fill cycle.
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
        # The implant of a candidate's pump (screening): never a refill booking.
        IMPLANT = "implant", _("Implant")

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

    clinic_scope = ClinicScope(
        "patient__clinic", audit={"exclude_fields": ["created_at", "updated_at", "starts_at"]}, caseload=True
    )

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

    def save(self, *args, **kwargs):
        # Its own column only: the pump's booking state is written by refills.services.
        self.starts_at = self.start_moment()
        super().save(*args, **kwargs)

    def start_moment(self) -> datetime:
        """The appointment's start as an aware datetime in the clinic's zone."""
        return datetime.combine(self.local_date, self.local_time, tzinfo=self.patient.clinic.zone)
