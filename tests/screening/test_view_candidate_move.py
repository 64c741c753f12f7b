"""Moving a candidate through the stages: only sensible moves, closing needs a reason,
reopening where it was closed, dates checked, audited; access cases."""

from datetime import date, time

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from refills.models import Appointment
from screening import services
from screening.models import Stage, StageMove
from tests.factories import AppointmentFactory
from tests.screening_data import make_candidate


def move(client, candidate, **data):
    values = {"stage": "", "date": "2026-11-25", "closed_reason": "", "note": ""}
    values.update(data)
    return client.post(reverse("candidate_move", args=[candidate.pk]), values)


def test_manager_moves_forward_with_date_and_who(client, manager, candidate):
    client.force_login(manager)
    page = client.get(reverse("candidate_move", args=[candidate.pk])).content.decode()
    assert 'value="assessed"' in page and 'value="trial_done"' not in page  # only the sensible moves
    response = move(client, candidate, stage="assessed", date="2026-11-24", note="MDT meeting")
    assert response["Location"] == reverse("candidate_detail", args=[candidate.pk])
    candidate.refresh_from_db()
    assert (candidate.stage, candidate.stage_date) == (Stage.ASSESSED, date(2026, 11, 24))
    last = candidate.moves.last()
    assert (last.stage, last.moved_by, last.note) == (Stage.ASSESSED, manager, "MDT meeting")
    entry = LogEntry.objects.get(
        content_type__model="candidate", object_pk=str(candidate.pk), action=LogEntry.Action.UPDATE
    )
    assert entry.actor == manager and entry.changes_dict["stage"] == ["referred", "assessed"]
    page = client.get(response["Location"]).content.decode()
    assert "Tue 24 Nov 2026" in page and "MDT meeting" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"stage": "trial_done"}, "stage", "Select a valid choice"),
        ({"stage": "implanted"}, "stage", "Select a valid choice"),  # only the implant records it
        ({"stage": "closed"}, "closed_reason", "Closing needs a reason"),
        ({"stage": "assessed", "closed_reason": "declined"}, "closed_reason", "A reason is only for closing"),
        ({"stage": "assessed", "date": "2026-11-26"}, "date", "This date is in the future"),
        ({"stage": "assessed", "date": "2026-09-30"}, "date", "before the current stage began"),
    ],
)
def test_refused_moves_name_the_field_and_change_nothing(client, manager, candidate, data, field, message):
    client.force_login(manager)
    response = move(client, candidate, **data)
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field])
    candidate.refresh_from_db()
    assert candidate.stage == Stage.REFERRED and candidate.moves.count() == 1


def test_closing_with_a_reason_and_reopening_where_it_was(client, manager, clinic):
    candidate = make_candidate(
        clinic, stage=Stage.TRIAL_DONE, referral_date=date(2026, 9, 1), stage_date=date(2026, 11, 1)
    )
    client.force_login(manager)
    move(client, candidate, stage="closed", closed_reason="non_responder")
    candidate.refresh_from_db()
    assert (candidate.stage, candidate.closed_reason) == (Stage.CLOSED, "non_responder")
    assert candidate.stage_display == "Closed: non-responder"
    assert services.allowed_moves(candidate) == (Stage.TRIAL_DONE,)
    move(client, candidate, stage="trial_done")
    candidate.refresh_from_db()
    assert (candidate.stage, candidate.closed_reason) == (Stage.TRIAL_DONE, "")


def test_the_service_refuses_what_the_page_would_not_offer(candidate, manager):
    with pytest.raises(services.StageMoveRefused):
        services.move_stage(candidate, Stage.IMPLANT_SCHEDULED, on=date(2026, 11, 25), by=manager)
    with pytest.raises(services.StageMoveRefused):
        services.move_stage(candidate, Stage.CLOSED, on=date(2026, 11, 25), by=manager)
    assert StageMove.objects.filter(candidate=candidate).count() == 1


def test_access(client, staff, outsider, candidate):
    client.force_login(staff)
    assert client.get(reverse("candidate_move", args=[candidate.pk])).status_code == 403
    assert move(client, candidate, stage="assessed").status_code == 403
    client.force_login(outsider)
    assert move(client, candidate, stage="assessed").status_code == 404
    candidate.refresh_from_db()
    assert candidate.stage == Stage.REFERRED


def implant_scheduled(clinic):
    """A candidate at "implant scheduled" with its implant booked for Sat 5 Dec 2026 08:30."""
    candidate = make_candidate(
        clinic, stage=Stage.IMPLANT_SCHEDULED, referral_date=date(2026, 9, 1), stage_date=date(2026, 11, 20)
    )
    booked = AppointmentFactory(
        patient=candidate.patient, kind="implant", local_date=date(2026, 12, 5), local_time=time(8, 30)
    )
    return candidate, booked


def test_closing_cancels_the_booked_implant_and_says_so_before_and_after(client, manager, clinic):
    candidate, booked = implant_scheduled(clinic)
    client.force_login(manager)
    page = client.get(reverse("candidate_move", args=[candidate.pk])).content.decode()
    assert "The implant is booked for" in page and "Sat 5 Dec 2026</time> 08:30: closing" in page
    assert "This cancels the implant booked for Sat 5 Dec 2026 08:30</label>" in page
    response = client.post(
        reverse("candidate_move", args=[candidate.pk]),
        {"stage": "closed", "date": "2026-11-25", "closed_reason": "declined", "note": "", "cancel_implant": "on"},
        follow=True,
    )
    assert "The implant booked for Sat 5 Dec 2026 08:30 was cancelled." in response.content.decode()
    booked.refresh_from_db()
    candidate.refresh_from_db()
    assert (candidate.stage, booked.status) == (Stage.CLOSED, Appointment.Status.CANCELLED)


def test_moving_back_from_implant_scheduled_cancels_the_implant_once_ticked(client, manager, clinic):
    candidate, booked = implant_scheduled(clinic)
    client.force_login(manager)
    response = move(client, candidate, stage="trial_done", note="Surgery postponed", cancel_implant="on")
    assert response["Location"] == reverse("candidate_detail", args=[candidate.pk])
    booked.refresh_from_db()
    candidate.refresh_from_db()
    assert (candidate.stage, candidate.stage_date) == (Stage.TRIAL_DONE, date(2026, 11, 25))
    assert booked.status == Appointment.Status.CANCELLED
    last = candidate.moves.last()
    assert (last.stage, last.moved_by) == (Stage.TRIAL_DONE, manager)
    assert last.note == "Surgery postponed; implant booked for Sat 5 Dec 2026 08:30 cancelled"
    # Audited: the cancellation (the appointment's status) and the move, by the manager.
    cancelled = LogEntry.objects.get(
        content_type__model="appointment", object_pk=str(booked.pk), action=LogEntry.Action.UPDATE
    )
    assert cancelled.actor == manager and cancelled.changes_dict["status"] == ["scheduled", "cancelled"]
    assert LogEntry.objects.filter(content_type__model="stagemove", object_pk=str(last.pk), actor=manager).exists()
    page = client.get(response["Location"]).content.decode()
    assert "The implant booked for Sat 5 Dec 2026 08:30 was cancelled." in page


@pytest.mark.parametrize(
    ("data", "stage"),
    [({"stage": "trial_done"}, "Trial done"), ({"stage": "closed", "closed_reason": "declined"}, "Closed")],
)
def test_without_the_tick_nothing_moves_and_the_implant_stays_booked(client, manager, clinic, data, stage):
    candidate, booked = implant_scheduled(clinic)
    client.force_login(manager)
    response = move(client, candidate, **data)
    assert response.status_code == 200
    assert response.context["form"].errors["cancel_implant"] == [
        f"Tick to confirm: moving to {stage} cancels the implant booked for Sat 5 Dec 2026 08:30."
    ]
    assert "Nothing was saved" in response.content.decode()
    booked.refresh_from_db()
    candidate.refresh_from_db()
    assert (candidate.stage, booked.status) == (Stage.IMPLANT_SCHEDULED, Appointment.Status.SCHEDULED)
    assert candidate.moves.count() == 2


def test_without_a_booked_implant_there_is_no_tick_to_give(client, manager, clinic):
    candidate = make_candidate(
        clinic, stage=Stage.IMPLANT_SCHEDULED, referral_date=date(2026, 9, 1), stage_date=date(2026, 11, 20)
    )
    client.force_login(manager)
    assert "cancel_implant" not in client.get(reverse("candidate_move", args=[candidate.pk])).content.decode()
    move(client, candidate, stage="trial_done")
    candidate.refresh_from_db()
    assert candidate.stage == Stage.TRIAL_DONE and candidate.moves.last().note == ""
