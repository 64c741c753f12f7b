"""Dashboard template helpers: guarded links, status and booking badges, count cards.

``url_if_exists`` lets the lists link to pages built elsewhere (patient page, booking
form) without breaking while those URL names do not exist yet.
"""

from dataclasses import dataclass, field

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

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


@dataclass(frozen=True)
class CountCard:
    """One number on the Today page and the filtered list it stands for."""

    key: str
    label: str
    count: int
    url: str
    tone: str = "neutral"
    hint: str = field(default="")


@register.inclusion_tag("refills/_count_card.html")
def count_card(card: CountCard) -> dict:
    return {"card": card}


@register.simple_tag
def table_body(table):
    """The <tr> rows of a django-tables2 table's page, as a cell-by-cell template loop wrote them.

    Each column's cell attributes are worked out once per table instead of once per cell,
    and no template variable is resolved per cell: on a 50-row, 12-column page that loop was
    about half of the page's time (bench/RESULTS.md). Cells are escaped as ``{{ cell }}`` was.
    """
    cell_attrs = {}
    for column in table.columns:
        declared = {**dict(table.attrs), **dict(column.column.attrs)}
        td = declared.get("td", declared.get("cell", {}))
        # Attributes computed per record (callables) are still computed per cell.
        cell_attrs[column.name] = None if any(callable(v) for v in td.values()) else column.attrs["td"].as_html()
    rows = []
    for row in table.paginated_rows:
        cells = []
        for index, (column, cell) in enumerate(row.items()):
            attrs = cell_attrs[column.name]
            if attrs is None:
                attrs = column.attrs["td"].as_html()
            if index == 0:
                cells.append(format_html('<th scope="row" {}>{}</th>', attrs, cell))
            else:
                cells.append(format_html("<td {}>{}</td>", attrs, cell))
        rows.append(format_html("<tr {}>{}</tr>", row.attrs.as_html(), mark_safe("".join(cells))))  # noqa: S308
    return mark_safe("\n".join(rows))  # noqa: S308 (every part went through format_html)
