"""The one row path of the lists (clinic/rows.py) writes exactly what django-tables2
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

from clinic import rows
from dashboard.templatetags import dashboard
from refills import schedule
from tests.dashboard_data import FROZEN, TODAY, book_refill, flagged_refill, pump_with_status
from tests.reminders_data import reminder_row, utc

pytestmark = pytest.mark.django_db

FROZEN_MOMENT = utc(2026, 3, 31, 23, 30)  # the next day in London: times in the clinic's zone


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
        for status, extra in (
            ("sent", {"attempts": 1, "sent_at": FROZEN_MOMENT}),
            ("failed", {"attempts": 5, "last_error": "550 mailbox <unavailable>"}),
            ("skipped", {}),
            ("pending", {"patient": booked.patient, "pump_status": schedule.DUE_SOON}),
        ):
            reminder_row(clinic, status=status, **extra)
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
        attrs = row.attrs.as_html()
        if not table.row_parity:  # the library's even/odd classes left out, as the table says
            attrs = re.sub(r'\s*class="(even|odd)"|\s(even|odd)(?=")', "", attrs).strip()
        lines.append(format_html("<tr {}>{}</tr>", mark_safe(attrs), mark_safe("".join(cells))))  # noqa: S308
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
        ("outbox", {}),
        ("members", {}),
        ("audit_log", {}),
    ],
)
def test_the_shortcut_renders_what_django_tables2_renders(
    client, staff, manager, admin_user, every_kind_of_row, url, query
):
    # The manager's review has the forms; members are an admin's page.
    client.force_login({"review": manager, "members": admin_user, "audit_log": admin_user}.get(url, staff))
    with time_machine.travel(FROZEN, tick=False):
        table = client.get(reverse(url), query).context["table"]
        # (Not table.paginated_rows: each row it makes advances the table's odd/even counter.)
        page = getattr(table, "page", None)
        assert len(page.object_list if page else table.data) > 2 or query
        shortcut = dashboard.table_rows(table)
        assert isinstance(table.row_renderer(table), rows.RowRenderer)
        # A table of its own (a table's rows count odd/even across renderings).
        library = library_body(client.get(reverse(url), query).context["table"])
        assert masked_csrf(shortcut).splitlines() == masked_csrf(library).splitlines()
    assert "<td" in shortcut


def test_every_column_of_the_lists_takes_the_shortcut(client, admin_user, every_kind_of_row):
    """Otherwise the page silently falls back to the slower per-cell path."""
    client.force_login(admin_user)
    with time_machine.travel(FROZEN, tick=False):
        for url in ("caseload", "overdue", "replacements", "review", "appointments", "outbox", "members", "audit_log"):
            table = client.get(reverse(url)).context["table"]
            renderer = table.row_renderer(table)
            slow = [column.name for column in table.columns if renderer.cells.get(column.name) is None]
            assert slow == [], url


def test_django_tables2_is_used_as_it_ships():
    """No import-time patch of the library's internals (issue 14 item 5, STYLE 13)."""
    import dashboard.tables  # noqa: F401 (the module that used to patch it)

    signature = django_tables2.utils.signature
    assert signature.__module__ == "django_tables2.utils" and not hasattr(signature, "cached")


def test_a_list_paged_by_its_view_shows_the_whole_page(client, manager, clinic):
    """The view pages these lists by 50 (includes/pagination.html); the table must not page
    them again by django-tables2's default 25 (page 2 would then be empty)."""
    with time_machine.travel(FROZEN, tick=False):
        refills = [flagged_refill(clinic) for _ in range(53)]
        client.force_login(manager)
        first = client.get(reverse("review")).content.decode()
        second = client.get(reverse("review"), {"page": 2}).content.decode()
    assert first.count('<tr id="refill-') == 50 and second.count('<tr id="refill-') == 3
    assert f'id="refill-{refills[-1].pk}"' in second and "Refills awaiting review (53)" in first


@pytest.mark.parametrize("url, query", [("caseload", {}), ("overdue", {}), ("replacements", {"urgent": "1"})])
def test_exports_give_what_django_tables2_gives(client, staff, every_kind_of_row, url, query):
    """The exports' values (Table.as_values, CSV and XLSX) through the same shortcut."""
    client.force_login(staff)
    with time_machine.travel(FROZEN, tick=False):
        table = client.get(reverse(url), query).context["table"]
        ours = list(table.as_values())
        library = list(django_tables2.Table.as_values(table))
    assert len(ours) > 3 and ours == library
    shortcut = [rows.cell_function(table, column, export=True) for column in table.columns.iterall()]
    assert None not in shortcut, "an exported column fell back to the library's per-cell path"
