"""Candidates for a pump, their stage in the pipeline, and their screening trials (SPEC 10).

A candidate is a patient of the clinic (the same MRN space, access rules and audit trail)
who was referred for intrathecal baclofen and has no pump yet. The stage and its date are
stored on the candidate for the pipeline's filters; every move is kept as a StageMove.
Only screening.services writes them.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic.display import qty
from clinic.models import Clinic
from clinic.scoping import ClinicScope
from patients.models import Patient
from screening import engine


class Cause(models.TextChoices):
    SPINAL_CORD_INJURY = "sci", _("Spinal cord injury")
    MULTIPLE_SCLEROSIS = "ms", _("Multiple sclerosis")
    CEREBRAL_PALSY = "cp", _("Cerebral palsy")
    BRAIN_INJURY = "brain_injury", _("Brain injury")
    OTHER = "other", _("Other")


class Stage(models.TextChoices):
    REFERRED = engine.REFERRED, _("Referred")
    ASSESSED = engine.ASSESSED, _("Assessed")
    TRIAL_SCHEDULED = engine.TRIAL_SCHEDULED, _("Trial scheduled")
    TRIAL_DONE = engine.TRIAL_DONE, _("Trial done")
    IMPLANT_SCHEDULED = engine.IMPLANT_SCHEDULED, _("Implant scheduled")
    IMPLANTED = engine.IMPLANTED, _("Implanted")
    CLOSED = engine.CLOSED, _("Closed")


class ClosedReason(models.TextChoices):
    NOT_A_CANDIDATE = "not_a_candidate", _("Not a candidate")
    DECLINED = "declined", _("Declined")
    NON_RESPONDER = "non_responder", _("Non-responder")


class MuscleGroup(models.TextChoices):
    """The fixed list of muscle groups a trial assesses (each side)."""

    HIP_FLEXORS_L = "hip_flexors_l", _("Hip flexors, left")
    HIP_FLEXORS_R = "hip_flexors_r", _("Hip flexors, right")
    HIP_EXTENSORS_L = "hip_extensors_l", _("Hip extensors, left")
    HIP_EXTENSORS_R = "hip_extensors_r", _("Hip extensors, right")
    HIP_ADDUCTORS_L = "hip_adductors_l", _("Hip adductors, left")
    HIP_ADDUCTORS_R = "hip_adductors_r", _("Hip adductors, right")
    KNEE_FLEXORS_L = "knee_flexors_l", _("Knee flexors, left")
    KNEE_FLEXORS_R = "knee_flexors_r", _("Knee flexors, right")
    KNEE_EXTENSORS_L = "knee_extensors_l", _("Knee extensors, left")
    KNEE_EXTENSORS_R = "knee_extensors_r", _("Knee extensors, right")
    ANKLE_PLANTAR_FLEXORS_L = "ankle_plantar_flexors_l", _("Ankle plantar flexors, left")
    ANKLE_PLANTAR_FLEXORS_R = "ankle_plantar_flexors_r", _("Ankle plantar flexors, right")
    ELBOW_FLEXORS_L = "elbow_flexors_l", _("Elbow flexors, left")
    ELBOW_FLEXORS_R = "elbow_flexors_r", _("Elbow flexors, right")
    ELBOW_EXTENSORS_L = "elbow_extensors_l", _("Elbow extensors, left")
    ELBOW_EXTENSORS_R = "elbow_extensors_r", _("Elbow extensors, right")
    WRIST_FLEXORS_L = "wrist_flexors_l", _("Wrist flexors, left")
    WRIST_FLEXORS_R = "wrist_flexors_r", _("Wrist flexors, right")


class MasScore(models.TextChoices):
    """Modified Ashworth Scale, in its clinical order (1+ between 1 and 2)."""

    ZERO = "0", "0"
    ONE = "1", "1"
    ONE_PLUS = "1+", "1+"
    TWO = "2", "2"
    THREE = "3", "3"
    FOUR = "4", "4"


class CandidateQuerySet(models.QuerySet):
    def in_pipeline(self):
        """Candidates the pipeline follows: not implanted, of a followed patient without a pump."""
        from patients.models import Pump

        return (
            self.exclude(stage=Stage.IMPLANTED)
            .filter(patient__status=Patient.Status.ACTIVE)
            .exclude(models.Exists(Pump.objects.filter(patient=models.OuterRef("patient"), status=Pump.Status.ACTIVE)))
        )


class Candidate(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="candidates")
    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="candidate")
    referral_date = models.DateField(_("referral date"))
    referrer = models.CharField(_("referred by"), max_length=200, help_text=_("Who referred the patient."))
    cause = models.CharField(_("cause of spasticity"), max_length=20, choices=Cause.choices)
    injury_level = models.CharField(
        _("injury level"),
        max_length=3,
        blank=True,
        help_text=_("For a spinal cord injury: the neurological level, e.g. C5 or T4."),
    )
    cause_detail = models.CharField(_("cause, in words"), max_length=200, blank=True)
    functional_goals = models.TextField(_("functional goals"), blank=True)
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("clinician"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="screening_candidates",
    )
    notes = models.TextField(_("notes"), blank=True)
    # The current stage and the local date it was reached (the last StageMove's), written
    # by screening.services with each move so that the pipeline filters and sorts in SQL.
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.REFERRED)
    stage_date = models.DateField(_("in this stage since"))
    closed_reason = models.CharField(_("reason for closing"), max_length=20, choices=ClosedReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CandidateQuerySet.as_manager()

    clinic_scope = ClinicScope("clinic")  # audited by screening/audit.py

    class Meta:
        ordering = ["referral_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stage=engine.CLOSED, closed_reason__gt="")
                | (~Q(stage=engine.CLOSED) & Q(closed_reason="")),
                name="candidate_closed_has_reason",
            ),
        ]
        indexes = [
            # The pipeline page and Today's waiting count: a clinic's candidates by stage.
            models.Index(fields=["clinic", "stage", "referral_date"], name="candidate_pipeline"),
        ]

    def get_additional_data(self) -> dict:
        """Scope for the audit trail."""
        return {"clinic_id": self.clinic_id, "patient_id": self.patient_id}

    def __str__(self) -> str:
        return str(self.patient)  # "Candidate: Lee, Ada (MRN)" in the audit trail

    @property
    def cause_display(self) -> str:
        """The cause in words, with the injury level or the free-text detail."""
        label = str(self.get_cause_display())
        if self.cause == Cause.SPINAL_CORD_INJURY and self.injury_level:
            return f"{label} ({self.injury_level})"
        if self.cause_detail:
            return f"{label} ({self.cause_detail})"
        return label

    @property
    def is_open(self) -> bool:
        """Still in the pipeline (neither implanted nor closed)."""
        return self.stage not in (Stage.IMPLANTED, Stage.CLOSED)

    @property
    def stage_display(self) -> str:
        label = str(self.get_stage_display())
        if self.stage == Stage.CLOSED and self.closed_reason:
            return f"{label}: {str(self.get_closed_reason_display()).lower()}"
        return label


class StageMove(models.Model):
    """One move of a candidate to a stage (the first is the referral)."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="moves")
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    date = models.DateField(_("date"))
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("moved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_reason = models.CharField(_("reason for closing"), max_length=20, choices=ClosedReason.choices, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    clinic_scope = ClinicScope("candidate__clinic")  # audited by screening/audit.py

    class Meta:
        ordering = ["date", "created_at", "pk"]

    def get_additional_data(self) -> dict:
        return {"clinic_id": self.candidate.clinic_id, "patient_id": self.candidate.patient_id}

    def __str__(self) -> str:
        return f"{self.get_stage_display()} on {self.date.isoformat()}"


class ScreeningTrial(models.Model):
    """A test dose of baclofen with the MAS scores before it and at time points after it.

    ``mas_before`` maps a muscle group to its score before the dose; ``mas_after`` is a list
    of ``{"hours": "4", "scores": {group: score}}`` in order of hours after the dose. A trial
    is read and written as a whole (the grid of one form), so the scores are one JSON value
    (and one audit entry) rather than a row per cell.
    """

    class Method(models.TextChoices):
        LUMBAR_PUNCTURE = "lumbar_puncture", _("Lumbar puncture bolus")
        CATHETER = "catheter", _("Catheter infusion")

    class Outcome(models.TextChoices):
        RESPONDER = engine.RESPONDER, _("Responder")
        NON_RESPONDER = engine.NON_RESPONDER, _("Non-responder")
        INCONCLUSIVE = engine.INCONCLUSIVE, _("Inconclusive")

    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="trials")
    given_at = models.DateTimeField(_("dose given at"))
    method = models.CharField(_("method"), max_length=20, choices=Method.choices, default=Method.LUMBAR_PUNCTURE)
    dose_mcg = models.DecimalField(_("dose (mcg)"), max_digits=6, decimal_places=2)
    dose_confirmed = models.BooleanField(
        _("dose outside 25-100 mcg confirmed"),
        default=False,
        help_text=_("Needed for a dose below 25 or above 100 mcg."),
    )
    mas_before = models.JSONField(_("MAS before the dose"), default=dict)
    mas_after = models.JSONField(_("MAS after the dose"), default=list)
    side_effects = models.TextField(_("side effects"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    note = models.TextField(_("clinician's note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    clinic_scope = ClinicScope("candidate__clinic")  # audited by screening/audit.py

    class Meta:
        ordering = ["given_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(dose_mcg__gt=Decimal(0)), name="screening_trial_dose_positive"),
        ]

    def get_additional_data(self) -> dict:
        return {"clinic_id": self.candidate.clinic_id, "patient_id": self.candidate.patient_id}

    def __str__(self) -> str:
        # The local date (the audit trail shows it in words); one query for the clinic's zone.
        local = self.given_at.astimezone(self.candidate.clinic.zone)
        return f"{qty(self.dose_mcg)} mcg on {local:%Y-%m-%d}"

    @classmethod
    def audit_json_labels(cls, field_name: str) -> dict:
        """The muscle groups in words, for the audit trail's view of the MAS scores."""
        return {group: str(label) for group, label in MuscleGroup.choices}

    @classmethod
    def audit_json_text(cls, field_name: str, value) -> str | None:
        """The scores after the dose in words: "2 h: Hip adductors, left 1, ...; 4 h: ..."
        (None: not a value of ours, shown as written)."""
        if field_name != "mas_after" or not isinstance(value, list):
            return None
        labels = cls.audit_json_labels(field_name)
        points = []
        for point in value:
            if not isinstance(point, dict) or not isinstance(point.get("scores"), dict):
                return None
            scores = ", ".join(f"{labels.get(g, g)} {s}" for g, s in point["scores"].items())
            points.append(f"{point.get('hours')} h: {scores}")
        return "; ".join(points)

    def as_engine_trial(self) -> engine.Trial:
        """The trial as the pure engine reads it."""
        return engine.Trial.from_stored(
            given_at=self.given_at,
            dose_mcg=self.dose_mcg,
            outcome=self.outcome,
            mas_before=self.mas_before,
            mas_after=self.mas_after,
        )


from screening.models_titration import PennScore, TitrationReview  # noqa: E402,F401  (issue 16 item 5)
