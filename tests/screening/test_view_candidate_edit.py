"""Editing a candidate's referral: saved and audited; refused edits name the field and change
nothing; access cases."""

from datetime import date

from auditlog.models import LogEntry
from django.urls import reverse

from screening import services
from screening.models import Stage


def data(**overrides):
    values = {
        "candidate-referral_date": "2026-10-01",
        "candidate-referrer": "Dr Invented, neurology",
        "candidate-cause": "brain_injury",
        "candidate-injury_level": "",
        "candidate-cause_detail": "",
        "candidate-functional_goals": "Walking with a frame",
        "candidate-clinician": "",
        "candidate-notes": "",
    }
    values.update(overrides)
    return values


def test_manager_edits_the_referral(client, manager, candidate):
    client.force_login(manager)
    assert 'value="2026-10-01"' in client.get(reverse("candidate_edit", args=[candidate.pk])).content.decode()
    response = client.post(reverse("candidate_edit", args=[candidate.pk]), data(**{"candidate-clinician": manager.pk}))
    assert response["Location"] == reverse("candidate_detail", args=[candidate.pk])
    candidate.refresh_from_db()
    assert (candidate.cause, candidate.functional_goals, candidate.clinician) == (
        "brain_injury",
        "Walking with a frame",
        manager,
    )
    entry = LogEntry.objects.get(content_type__model="candidate", action=LogEntry.Action.UPDATE)
    assert entry.actor == manager and "cause" in entry.changes_dict


def test_referral_after_the_first_move_is_refused(client, manager, candidate):
    services.move_stage(candidate, Stage.ASSESSED, on=date(2026, 10, 10), by=manager)
    client.force_login(manager)
    response = client.post(
        reverse("candidate_edit", args=[candidate.pk]), data(**{"candidate-referral_date": "2026-10-11"})
    )
    assert "cannot be after the first move" in " ".join(response.context["form"].errors["referral_date"])
    candidate.refresh_from_db()
    assert candidate.referral_date == date(2026, 10, 1) and candidate.cause == "ms"


def test_access(client, staff, outsider, candidate):
    client.force_login(staff)
    assert client.get(reverse("candidate_edit", args=[candidate.pk])).status_code == 403
    assert client.post(reverse("candidate_edit", args=[candidate.pk]), data()).status_code == 403
    client.force_login(outsider)
    assert client.post(reverse("candidate_edit", args=[candidate.pk]), data()).status_code == 404
    candidate.refresh_from_db()
    assert candidate.cause == "ms"
