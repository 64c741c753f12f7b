"""Dashboard template helpers: guarded links, status and booking badges, count cards.

``url_if_exists`` lets the lists link to pages built elsewhere (patient page, booking
form) without breaking while those URL names do not exist yet.
"""

from dataclasses import dataclass

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from refills import schedule
from refills.labels import BOOKING_LABELS, STATUS_LABELS

register = template.Library()


@register.simple_tag
def url_if_exists(name: str, *args, **kwargs) -> str:
    """reverse(name, ...) or "" when no such URL exists (yet)."""
    try:
        return reverse(name, args=args or None, kwargs=kwargs or None)
    except NoReverseMatch:
        return ""


def url_with_query(name: str, query: dict | None = None, **kwargs) -> str:
    """A guarded URL with a query string ("" if the URL name does not exist)."""
    url = url_if_exists(name, **kwargs)
    if url and query:
        url = f"{url}?{urlencode(query)}"
    return url


@register.simple_tag
def status_badge(status: str | None):
    """The status as a coloured badge that also says it in words."""
    if not status:
        return ""
    return format_html('<span class="badge badge-{}">{}</span>', status, STATUS_LABELS.get(status, status))


@register.simple_tag
def booking_badge(booking: str | None):
    if not booking:
        return ""
    return format_html('<span class="badge badge-{}">{}</span>', booking, BOOKING_LABELS.get(booking, booking))


@register.filter
def discrepancy_meaning(discrepancy_ml) -> str:
    """What a residual discrepancy may mean (SPEC section 3)."""
    return "" if discrepancy_ml is None else schedule.discrepancy_meaning(discrepancy_ml)


# A word on the cards that must not be missed, so that "Empty" never looks like a list to review.
CARD_FLAGS = {"empty": _("Danger"), "alarming": _("Danger"), "review": _("Check")}


@dataclass(frozen=True)
class CountCard:
    """One number on the Today page and the filtered list it stands for."""

    key: str
    label: str
    count: int
    url: str
    tone: str = "neutral"

    @property
    def flag(self) -> str:
        """The word "Danger" on a non-zero empty or alarming card, "Check" on refills to review."""
        return str(CARD_FLAGS.get(self.tone, "")) if self.count else ""

    @property
    def danger(self) -> bool:
        return bool(self.count) and self.tone in ("empty", "alarming")


@register.inclusion_tag("refills/_count_card.html")
def count_card(card: CountCard) -> dict:
    return {"card": card}


@register.simple_tag
def table_rows(table):
    """The <tr> rows of a list's page, written by the row renderer its table declares
    (``ListTable.row_renderer``: the one row path, clinic/rows.py)."""
    return table.row_renderer(table).html()
