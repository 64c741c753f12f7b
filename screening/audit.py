"""The screening models in the audit trail (the same trail as the patients: each entry
carries the clinic and patient ids, so a candidate's history is on the patient's)."""

from auditlog.registry import auditlog
from django.apps import apps


def register_models() -> None:
    """Called once from ScreeningConfig.ready()."""
    get = apps.get_model
    auditlog.register(get("screening", "Candidate"), exclude_fields=["created_at", "updated_at"])
    auditlog.register(get("screening", "StageMove"), exclude_fields=["created_at"])
    auditlog.register(get("screening", "ScreeningTrial"), exclude_fields=["created_at", "updated_at"])
    auditlog.register(get("screening", "TitrationReview"), exclude_fields=["created_at"])
