"""The clinic's week (SPEC 9): refill sessions and members' absences.

The arithmetic over them (slots, capacity, booking proposals) is the pure module
scheduling.capacity; scheduling.week loads these rows into it.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic.models import WEEKDAYS, Clinic, Membership
from clinic.scoping import ClinicScope

WEEKDAY_CHOICES = WEEKDAYS  # the clinic's weekday names (clinic.models)


class RefillSession(models.Model):
    """A weekly block of refill slots, for one pump manager or (member blank) for the clinic."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="refill_sessions")
    member = models.ForeignKey(
        Membership,
        verbose_name=_("pump manager"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="refill_sessions",
        help_text=_("Leave blank for a clinic session that any member may run."),
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=WEEKDAY_CHOICES)
    start_time = models.TimeField(_("start time"))
    slots = models.PositiveSmallIntegerField(
        _("refill slots"), default=4, validators=[MinValueValidator(1), MaxValueValidator(48)]
    )
    slot_minutes = models.PositiveSmallIntegerField(
        _("slot length (minutes)"), default=30, validators=[MinValueValidator(5), MaxValueValidator(240)]
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    clinic_scope = ClinicScope("clinic", audit={"exclude_fields": ["created_at"]})

    class Meta:
        ordering = ["clinic", "weekday", "start_time", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="refill_session_weekday_0_6"),
            models.CheckConstraint(condition=models.Q(slots__gte=1), name="refill_session_slots_positive"),
            models.CheckConstraint(
                condition=models.Q(slot_minutes__gte=1), name="refill_session_slot_minutes_positive"
            ),
        ]

    def get_additional_data(self) -> dict:
        """Scope for the audit trail."""
        return {"clinic_id": self.clinic_id, "patient_id": None}

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}"


class Absence(models.Model):
    """A member's days away, first and last day included."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="absences")
    member = models.ForeignKey(Membership, verbose_name=_("member"), on_delete=models.CASCADE, related_name="absences")
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    clinic_scope = ClinicScope("clinic", audit={"exclude_fields": ["created_at"]})

    class Meta:
        ordering = ["clinic", "first_day", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_day__gte=models.F("first_day")), name="absence_last_day_not_before_first"
            ),
        ]
        indexes = [models.Index(fields=["clinic", "last_day"], name="absence_by_clinic_last_day")]

    def get_additional_data(self) -> dict:
        """Scope for the audit trail."""
        return {"clinic_id": self.clinic_id, "patient_id": None}

    def __str__(self) -> str:
        return f"{self.first_day} to {self.last_day}"
