"""How values read on pages (SPEC 8): dates as "Wed 25 Nov 2026", numbers without trailing
zeros, a discrepancy with its sign, members by name.

Files (CSV, XLSX, JSON) and the command line keep ISO dates and plain values: only pages and
emails go through these.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils import formats
from django.utils.html import format_html


def day(value) -> str:
    """A date in the clinic's words: "Wed 25 Nov 2026" (settings' DATE_FORMAT)."""
    if value in (None, ""):
        return ""
    return formats.date_format(value, "DATE_FORMAT")


def day_html(value):
    """A date for a page: readable text, the ISO date for machines (<time datetime>)."""
    if value in (None, ""):
        return ""
    iso = value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
    return format_html('<time datetime="{}">{}</time>', iso, day(value))


def qty(value) -> str:
    """A number without trailing zeros: 2000.00 -> "2000", 2.50 -> "2.5" (exact, never a float)."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return str(value)
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def signed_qty(value) -> str:
    """A discrepancy always with its sign: "+4.25", "-1.5", "0"."""
    text = qty(value)
    if text and text != "0" and not text.startswith("-"):
        return f"+{text}"
    return text


def member_name(user) -> str:
    """A member as people know them: full name, else the username."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()
