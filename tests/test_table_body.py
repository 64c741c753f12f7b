"""The table_body tag's cell shortcut renders exactly what django-tables2 renders, on
every list table, for every kind of row (empty cells, links, badges, dates)."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from refills import schedule
from refills.templatetags import dashboard
from tests.dashboard_data import FROZEN, TODAY, book_refill, pump_with_status

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
        yield


def library_body(table, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(dashboard, "_cell_renderer", lambda table, column: None)
        return dashboard.table_body(table)


@pytest.mark.parametrize(
    "url, query",
    [
        ("caseload", {}),
        ("caseload", {"sort": "-next_appointment"}),
        ("overdue", {}),
        ("replacements", {}),
        ("replacements", {"urgent": "1"}),
    ],
)
def test_the_shortcut_renders_what_django_tables2_renders(client, staff, every_kind_of_row, monkeypatch, url, query):
    client.force_login(staff)
    with time_machine.travel(FROZEN, tick=False):
        table = client.get(reverse(url), query).context["table"]
        assert len(table.page.object_list) > 2
        shortcut = dashboard.table_body(table)
        # A table of its own (a table's rows count odd/even across renderings).
        library = library_body(client.get(reverse(url), query).context["table"], monkeypatch)
        assert shortcut.splitlines() == library.splitlines()
    assert "<td" in shortcut


def test_every_column_of_the_lists_takes_the_shortcut(client, staff, every_kind_of_row):
    """Otherwise the page silently falls back to the slower per-cell path."""
    client.force_login(staff)
    with time_machine.travel(FROZEN, tick=False):
        for url in ("caseload", "overdue", "replacements"):
            table = client.get(reverse(url)).context["table"]
            slow = [column.name for column in table.columns if dashboard._cell_renderer(table, column) is None]
            assert slow == [], url
