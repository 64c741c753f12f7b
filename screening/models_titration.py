"""Titration reviews after an implant (issue 16 item 5, SPEC 10 "Outcomes").

A review records the Modified Ashworth Scale of the muscle groups assessed (the same scale
and groups as the screening trials) and optionally the Penn spasm frequency score, on a date
after the pump's implant. The patient page shows them against the daily dose over time.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic.scoping import ClinicScope
from patients.models import Pump


class PennScore(models.IntegerChoices):
    """Penn spasm frequency scale (Penn et al., 1989)."""

    NONE = 0, _("0: no spasms")
    MILD = 1, _("1: mild spasms induced by stimulation")
    INFREQUENT = 2, _("2: infrequent full spasms, less than once an hour")
    HOURLY = 3, _("3: spasms more than once an hour")
    FREQUENT = 4, _("4: spasms more than ten times an hour")


class TitrationReview(models.Model):
    """One review of a pump patient's spasticity during titration.

    ``mas`` maps a muscle group (screening.models.MuscleGroup) to its MAS score
    (screening.engine.MAS_SCORES), as a trial's ``mas_before`` does.
    """

    pump = models.ForeignKey(Pump, on_delete=models.CASCADE, related_name="titration_reviews")
    reviewed_on = models.DateField(_("review date"))
    mas = models.JSONField(_("Modified Ashworth Scale"), default=dict)
    penn_score = models.PositiveSmallIntegerField(
        _("Penn spasm frequency score"),
        choices=PennScore.choices,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(4)],
    )
    note = models.TextField(_("note"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    clinic_scope = ClinicScope("pump__clinic")  # audited by screening/audit.py

    class Meta:
        ordering = ["reviewed_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(penn_score__isnull=True) | models.Q(penn_score__lte=4),
                name="titration_review_penn_0_to_4",
            ),
        ]

    @classmethod
    def audit_json_labels(cls, field_name: str) -> dict:
        """The muscle groups in words, for the audit trail's display of ``mas``."""
        from screening.models import MuscleGroup

        return {group: str(label) for group, label in MuscleGroup.choices} if field_name == "mas" else {}

    def get_additional_data(self) -> dict:
        """Scope for the audit trail (the patient's history)."""
        return {"clinic_id": self.pump.clinic_id, "patient_id": self.pump.patient_id}

    def __str__(self) -> str:
        return f"Titration review {self.reviewed_on.isoformat()}"
