"""The one row path of the lists (refills/rows.py) writes exactly what django-tables2
writes, on every list table, for every kind of row (empty cells, links, badges, dates),
and the library is used as it ships (nothing of it patched at import time)."""

import re
from datetime import timedelta

import django_tables2
import pytest
import time_machine
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from refills import rows, schedule
from refills.templatetags import dashboard
from tests.dashboard_data import FROZEN, TODAY, book_refill, flagged_refill, pump_with_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_kind_of_row(clinic, manager):
    with time_machine.travel(FROZEN, tick=False):
        for status in (schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE, schedule.DUE_SOON, schedule.OK):
            pump_with_status(clinic, status, manager=manager, previous_withdrawal=True)
            pump_with_status(clinic, status, pump_fields={"eri_date": TODAY + timedelta(days=30)})
        pump_with_status(clinic, schedule.NO_FILL)
        booked = pump_with_status(clinic, schedule.DUE_SOON)
        book_refill(booked, booked.refill_due + timedelta(days=2))
        book_refill(pump_with_status(clinic, schedule.OVERDUE), TODAY + timedelta(days=1), kind="review")
        book_refill(pump_with_status(clinic, schedule.OVERDUE, high_risk=True), TODAY)  # today: complete, no-show
        flagged_refill(clinic, manager=manager, high_risk=True)
        flagged_refill(clinic, removed="11")  # over-delivery
        flagged_refill(clinic, removed="19")
        yield


def library_body(table):
    """The rows as the library writes them: BoundRow.items() (get_cell per cell, the column's
    attributes computed per cell), in the row path's markup."""
    lines, header = [], 0 if table.row_header else None
    for row in table.paginated_rows:
        cells = [
            format_html(
                '<th scope="row" {}>{}</th>' if index == header else "<td {}>{}</td>",
                column.attrs["td"].as_html(),
                cell,
            )
            for index, (column, cell) in enumerate(row.items())
        ]
        lines.append(format_html("<tr {}>{}</tr>", row.attrs.as_html(), mark_safe("".join(cells))))  # noqa: S308
    return "\n".join(lines)


def masked_csrf(html):
    """The CSRF token of a form in a cell is masked afresh for each form (Django's get_token)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value="…"', html)


@pytest.mark.parametrize(
    "url, query",
    [
        ("caseload", {}),
        ("caseload", {"sort": "-next_appointment"}),
        ("overdue", {}),
        ("replacements", {}),
        ("replacements", {"urgent": "1"}),
        ("review", {}),
        ("appointments", {}),
        ("appointments", {"kind": "review"}),
    ],
)
def test_the_shortcut_renders_what_django_tables2_renders(client, staff, manager, every_kind_of_row, url, query):
    client.force_login(manager if url == "review" else staff)  # the manager's review has the forms
    with time_machine.travel(FROZEN, tick=False):
        table = client.get(reverse(url), query).context["table"]
        # (Not table.paginated_rows: each row it makes advances the table's odd/even counter.)
        assert len(table.page.object_list if table.page else table.data) > 2 or query
        shortcut = dashboard.table_rows(table)
        assert isinstance(table.row_renderer(table), rows.RowRenderer)
        # A table of its own (a table's rows count odd/even across renderings).
        library = library_body(client.get(reverse(url), query).context["table"])
        assert masked_csrf(shortcut).splitlines() == masked_csrf(library).splitlines()
    assert "<td" in shortcut


def test_every_column_of_the_lists_takes_the_shortcut(client, staff, every_kind_of_row):
    """Otherwise the page silently falls back to the slower per-cell path."""
    client.force_login(staff)
    with time_machine.travel(FROZEN, tick=False):
        for url in ("caseload", "overdue", "replacements", "review", "appointments"):
            table = client.get(reverse(url)).context["table"]
            renderer = table.row_renderer(table)
            slow = [column.name for column in table.columns if renderer.cells.get(column.name) is None]
            assert slow == [], url


def test_django_tables2_is_used_as_it_ships():
    """No import-time patch of the library's internals (issue 14 item 5, STYLE 13)."""
    import refills.tables  # noqa: F401 (the module that used to patch it)

    signature = django_tables2.utils.signature
    assert signature.__module__ == "django_tables2.utils" and not hasattr(signature, "cached")
