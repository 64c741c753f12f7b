"""Small template helpers for the patient pages."""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from clinic import display
from refills.labels import BOOKING_LABELS, STATUS_LABELS
from refills.models import DosingMode

register = template.Library()


@register.simple_tag
def url_if(name, *args):
    """reverse(name, args), or "" while that page does not exist yet (links are then hidden)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@register.filter
def status_label(status):
    return STATUS_LABELS.get(status, status)


@register.filter
def booking_label(booking):
    return BOOKING_LABELS.get(booking, booking)


@register.filter
def days_to_due_text(days):
    """'due in 5 days', 'due today', '3 days overdue'."""
    if days is None:
        return ""
    if days == 0:
        return _("due today")
    if days > 0:
        return ngettext("due in %(n)d day", "due in %(n)d days", days) % {"n": days}
    return ngettext("%(n)d day overdue", "%(n)d days overdue", -days) % {"n": -days}


@register.filter
def plain(value):
    """A Decimal without trailing zeros: 2000.00 -> 2000, 2.50 -> 2.5 (exact, never a float)."""
    return display.qty(value)


@register.filter
def signed(value):
    """A discrepancy with its sign: +2.5, -1.25, 0."""
    return display.signed_qty(value)


@register.filter
def dosing_mode_label(value):
    try:
        return DosingMode(value).label
    except ValueError:
        return value
