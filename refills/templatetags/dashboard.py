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
from django.utils.translation import gettext_lazy as _
from django_tables2 import utils as tables_utils
from django_tables2.columns import ManyToManyColumn
from django_tables2.utils import Accessor as A

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
    hint: str = field(default="")

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


def _cell_renderer(table, bound_column):
    """A function record -> cell content doing what django-tables2's BoundRow.get_cell does
    for this column, with the per-column work done once; None where that shortcut does not
    apply (a link, choices shown by their label, many-to-many, or arguments needing the row).

    django-tables2 rebuilds the accessor, walks it twice and checks the model field on
    every cell; on a 50-row, 12-column page that was a fifth of the page's time.
    tests/test_table_body.py checks the result equals the library's own on every list table.
    """
    column = bound_column.column
    if bound_column.link or isinstance(column, ManyToManyColumn):
        return None
    accessor = A(bound_column.accessor)
    model = getattr(table.data, "model", None)
    if model is not None and getattr(accessor.get_field(model), "choices", None):
        return None  # shown through get_FOO_display(): the library's path
    args, catch_all = tables_utils.signature(bound_column.render)  # cached by refills.tables
    if catch_all or "bound_row" in args:
        return None
    render, default, empty_values = bound_column.render, bound_column.default, column.empty_values
    fixed = {"column": column, "bound_column": bound_column, "table": table}
    missing = [arg for arg in args if arg not in ("value", "record", *fixed)]
    if missing:
        return lambda record: None  # what call_with_appropriate returns

    def cell(record):
        try:
            value = accessor.resolve(record)
        except Exception:  # as django-tables2: a failed lookup is an empty cell
            value = None
        if value in empty_values:
            return default
        known = {"value": value, "record": record, **fixed}
        return render(**{arg: known[arg] for arg in args})

    return cell


@register.simple_tag
def table_body(table):
    """The <tr> rows of a django-tables2 table's page, as a cell-by-cell template loop wrote them.

    Each column's cell attributes and cell renderer are worked out once per table instead of
    once per cell, and no template variable is resolved per cell: on a 50-row, 12-column
    page that loop was about half of the page's time (bench/RESULTS.md). Cells are escaped
    as ``{{ cell }}`` was.
    """
    columns = list(table.columns)
    cell_attrs, renderers = {}, {}
    for column in columns:
        declared = {**dict(table.attrs), **dict(column.column.attrs)}
        td = declared.get("td", declared.get("cell", {}))
        # Attributes computed per record (callables) are still computed per cell.
        cell_attrs[column.name] = None if any(callable(v) for v in td.values()) else column.attrs["td"].as_html()
        renderers[column.name] = _cell_renderer(table, column)
    if any(attrs is None for attrs in cell_attrs.values()):
        renderers = {}  # callable attributes read column.current_value: the library's path
    rows = []
    for row in table.paginated_rows:
        cells = []
        for index, column in enumerate(columns):
            renderer = renderers.get(column.name)
            cell = renderer(row.record) if renderer else row.get_cell(column.name)
            attrs = cell_attrs[column.name]
            if attrs is None:
                column.current_value, column.current_record = cell, row.record
                attrs = column.attrs["td"].as_html()
            if index == 0:
                cells.append(format_html('<th scope="row" {}>{}</th>', attrs, cell))
            else:
                cells.append(format_html("<td {}>{}</td>", attrs, cell))
        rows.append(format_html("<tr {}>{}</tr>", row.attrs.as_html(), mark_safe("".join(cells))))  # noqa: S308
    return mark_safe("\n".join(rows))  # noqa: S308 (every part went through format_html)
