"""worklist.demo: the demo clinic's items in every state (open, claimed, excepted, escalated, with
contact attempts), made through the worklist's services (so audited)."""

import pytest
import time_machine
from auditlog.models import LogEntry

from clinic.models import Membership
from reminders.models import Reminder
from tests.reminders_data import member, pump_in_status
from tests.worklist_data import NOW, TODAY
from worklist.demo import seed_worklist
from worklist.models import ContactAttempt, Item

pytestmark = pytest.mark.django_db


def test_items_in_every_state(clinic):
    users = {
        "a": member(clinic, Membership.Role.ADMIN, username="demo-a"),
        "m": member(clinic, Membership.Role.MANAGER, username="demo-m"),
        "s": member(clinic, Membership.Role.STAFF, username="demo-s"),
    }
    with time_machine.travel(NOW, tick=False):
        for status in ("empty", "alarming", "overdue", "overdue", "due_soon", "due_soon", "due_soon", "ok"):
            pump_in_status(clinic, status, TODAY)
        made = seed_worklist(clinic, users, TODAY, "a", "m", "s")
    assert made == {"escalated": 1, "claimed": 2, "excepted": 1, "contacts": 4}
    states = sorted(Item.objects.values_list("state", flat=True))
    assert states == ["claimed", "claimed", "excepted", "open", "open", "open", "open"]
    escalated = Item.objects.get(escalated_at__isnull=False)
    assert (escalated.state, escalated.pump.empty_date <= TODAY) == ("open", True)  # the empty pump, unclaimed
    assert Reminder.objects.filter(kind=Reminder.Kind.UNCLAIMED, recipient_user=users["a"]).count() == 1
    assert set(Item.objects.filter(state="claimed").values_list("claimed_by__username", flat=True)) == {
        "demo-m",
        "demo-s",
    }
    assert set(ContactAttempt.objects.values_list("method", flat=True)) == {
        "phone_no_answer",
        "phone_message",
        "phone_reached",
        "letter",
    }
    assert LogEntry.objects.filter(content_type__model="contactattempt").count() == 4
    assert Item.objects.get(state="excepted").exception_reason == "hospital"
