"""Readable audit trail cells: field names in words, empty values as a dash."""

from django import template

register = template.Library()


@register.filter
def audit_field(name: str) -> str:
    """volume_after_ml -> "volume after ml"."""
    return str(name).replace("_", " ")


@register.filter
def audit_value(value) -> str:
    """auditlog stores a missing value as the text "None"; show a dash instead."""
    return "—" if value in (None, "", "None") else str(value)
