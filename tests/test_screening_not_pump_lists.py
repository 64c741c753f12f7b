"""Candidates have no pump: never in the refill lists, Today's counts, the refill reminders or
caseload_report; and a candidate implanted (a pump patient) never stays in the pipeline."""

import io
import json
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from refills import schedule
from reminders import sweep as reminders
from screening.models import Stage
from tests.dashboard_data import FROZEN, TODAY, pump_with_status
from tests.factories import PumpFactory
from tests.screening_data import make_candidate


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture
def both(clinic, manager):
    """An overdue pump patient and a long-waiting candidate (opted in, with an email, the same manager)."""
    pump = pump_with_status(
        clinic, schedule.OVERDUE, mrn="PUMP-1", manager=manager, reminders_opt_in=True, email="pump@example.invalid"
    )
    candidate = make_candidate(
        clinic,
        mrn="CAND-1",
        stage=Stage.ASSESSED,
        referral_date=date(2026, 1, 5),
        clinician=manager,
        manager=manager,
        reminders_opt_in=True,
        email="cand@example.invalid",
    )
    return pump, candidate


@pytest.mark.parametrize("name", ["caseload", "overdue", "replacements", "review"])
def test_not_in_the_refill_lists(client, manager, both, name):
    client.force_login(manager)
    html = client.get(reverse(name)).content.decode()
    assert "CAND-1" not in html
    if name in ("caseload", "overdue"):
        assert "PUMP-1" in html  # the list itself works


def test_not_in_todays_counts_but_named_as_waiting(client, manager, both):
    client.force_login(manager)
    response = client.get("/")
    counts = response.context["counts"]
    assert counts["total"] == 1 and counts["my_total"] == 1  # the pump only
    assert [i.patient.mrn for i in response.context["danger_items"]] == ["PUMP-1"]
    waiting = response.context["screening_waiting"]
    assert [c.patient.mrn for c in waiting.named] == ["CAND-1"] and waiting.mine == 1


def test_no_refill_reminder(clinic, both):
    now = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
    due = reminders.refill_nudges_due(clinic, now)
    assert {d.patient_id for d in due} == {both[0].patient_id}  # the pump patient only
    assert not reminders.appointment_reminders_due(clinic, now)


def test_not_in_caseload_report(clinic, both):
    out = io.StringIO()
    call_command("caseload_report", "--clinic", clinic.slug, "--format", "json", stdout=out)
    assert [row["mrn"] for row in json.loads(out.getvalue())] == ["PUMP-1"]


def test_an_implanted_candidate_leaves_the_pipeline(client, manager, clinic, both):
    _pump, candidate = both
    client.force_login(manager)
    assert "CAND-1" in client.get(reverse("pipeline")).content.decode()
    PumpFactory(patient=candidate.patient, implant_date=TODAY)
    html = client.get(reverse("pipeline")).content.decode()
    assert "CAND-1" not in html
    assert "CAND-1" not in client.get("/").content.decode()  # no longer waiting on Today either
