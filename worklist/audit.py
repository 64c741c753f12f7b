"""The worklist's rows in the audit trail (django-auditlog, as clinic.audit registers the others)."""

from auditlog.registry import auditlog
from django.apps import apps


def register_models() -> None:
    """Called once from WorklistConfig.ready(): items (state, claim, exception, escalation),
    contact attempts and the item's history rows."""
    get = apps.get_model
    auditlog.register(
        get("worklist", "Item"), exclude_fields=["created_at", "updated_at", "last_contact", "open_since"]
    )
    auditlog.register(get("worklist", "ContactAttempt"), exclude_fields=["created_at"])
