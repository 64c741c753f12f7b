"""The worklist in the audit trail: claims, releases and exceptions in the clinic's words."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.reminders_data import pump_in_status
from tests.worklist_data import NOW, TODAY, refill_item, synced
from worklist import services

pytestmark = pytest.mark.django_db


def test_the_audit_trail_names_the_member_the_state_and_the_reason_in_words(client, clinic, staff, admin_user):
    with time_machine.travel(NOW, tick=False):
        pump = pump_in_status(clinic, "overdue", TODAY, mrn="AUD1")
        synced(clinic)
        item = refill_item(pump)
        services.claim(item, staff, TODAY)
        item.refresh_from_db()
        services.release(item, staff, may_release_others=False)
        services.record_exception(
            item, staff, reason="moved_away", note="Now in Leeds", until=TODAY + timedelta(days=30), today=TODAY
        )
        client.force_login(admin_user)
        html = client.get(reverse("audit_log")).content.decode()
    assert "Worklist: Refill" in html and f"#{item.pk}" not in html
    assert "Open → Claimed" in html and "Claimed → Open" in html
    assert f"— → {staff.get_full_name()}" in html and "(deleted user)" not in html
    assert "Moved away" in html and "Fri 25 Dec 2026" in html and "Now in Leeds" in html
    assert "AUD1" in html  # the patient the entry is about
