"""The audit trail table: entries turned into rows in the clinic's words (clinic.audit_display)."""

from django import template

from clinic.audit_display import EMPTY, describe_entries
from clinic.tables import AuditTable

register = template.Library()


@register.simple_tag(takes_context=True)
def audit_rows(context, entries, with_patient=False, known=None):
    """``{% audit_rows entries as rows %}``: labels and human values, related rows read once
    per page (not at all when ``known``, rows the page already read, holds them); times in
    the page's clinic's time zone."""
    clinic = context.get("clinic") or context.get("nav_clinic")
    zone = getattr(clinic, "zone", None)
    return describe_entries(entries, zone=zone, with_patient=bool(with_patient), known=known or ())


@register.simple_tag
def audit_table(rows):
    """``{% audit_table rows as table %}``: the rows as a list through the one row path."""
    return AuditTable(rows)


@register.filter
def audit_field(name: str) -> str:
    """volume_after_ml -> "volume after ml" (for a field name without a model)."""
    return str(name).replace("_", " ")


@register.filter
def audit_value(value) -> str:
    """auditlog stores a missing value as the text "None"; show a dash instead."""
    return EMPTY if value in (None, "", "None") else str(value)
