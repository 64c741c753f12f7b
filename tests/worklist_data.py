"""Builders shared by the worklist tests (pumps in a status: tests.reminders_data)."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from worklist import sync
from worklist.models import Item

TODAY = date(2026, 11, 25)  # a Wednesday
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # 10:00 in London (GMT in November)


def refill_item(pump) -> Item:
    return Item.objects.get(pump=pump, kind=Item.Kind.REFILL)


def synced(clinic, now=NOW) -> dict:
    return sync.sync_clinic(clinic, now)


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield NOW
