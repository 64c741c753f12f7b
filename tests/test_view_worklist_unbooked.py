"""The standing check's list (SPEC 9): pumps due within due_soon_days (or past due) with neither
a refill booked on or before refill due nor an exception."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.reminders_data import appointment, pump_in_status
from tests.worklist_data import NOW, TODAY, refill_item, synced
from worklist import services
from worklist.standing import standing_check_count

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def listed(client, user):
    client.force_login(user)
    response = client.get(reverse("worklist_unbooked"))
    assert response.status_code == 200
    return [pump.patient.mrn for pump in response.context["pumps"]]


def test_who_fails_the_check(client, clinic, other_clinic, staff):
    pump_in_status(clinic, "due_soon", TODAY, mrn="SOON")
    pump_in_status(clinic, "overdue", TODAY, mrn="PAST")
    pump_in_status(clinic, "ok", TODAY, mrn="FINE")
    booked = pump_in_status(clinic, "due_soon", TODAY, mrn="BOOKED")
    appointment(booked.patient, booked.refill_due)
    late = pump_in_status(clinic, "due_soon", TODAY, mrn="LATEBOOK")
    appointment(late.patient, late.refill_due + timedelta(days=2))
    excepted = pump_in_status(clinic, "due_soon", TODAY, mrn="EXCEPTED")
    pump_in_status(other_clinic, "due_soon", TODAY, mrn="ELSEWHERE")
    synced(clinic)
    services.record_exception(
        refill_item(excepted), staff, reason="declines", note="", until=TODAY + timedelta(days=7), today=TODAY
    )
    assert listed(client, staff) == ["PAST", "LATEBOOK", "SOON"]  # earliest refill due first
    assert standing_check_count(clinic, TODAY) == 3


def test_an_expired_exception_counts_again(clinic, staff):
    pump = pump_in_status(clinic, "due_soon", TODAY)
    synced(clinic)
    services.record_exception(
        refill_item(pump), staff, reason="hospital", note="", until=TODAY + timedelta(days=2), today=TODAY
    )
    assert standing_check_count(clinic, TODAY) == 0
    assert standing_check_count(clinic, TODAY + timedelta(days=3)) == 1


def test_the_goal_reached_reads_as_such(client, clinic, staff):
    pump_in_status(clinic, "ok", TODAY)
    client.force_login(staff)
    html = client.get(reverse("worklist_unbooked")).content.decode()
    assert "every pump due soon is booked in time or has an owner" in html
