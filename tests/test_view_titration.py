"""Titration review pages (screening/titration_views.py) and the titration section of the
patient page: record, correct, delete, validated; the chart with its table."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from auditlog.models import LogEntry
from django.urls import reverse

from screening.models_titration import TitrationReview
from tests.factories import ProgramChangeFactory, PumpFactory, RefillFactory

TODAY = date(2026, 1, 5)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel("2026-01-05 12:00:00Z", tick=False):
        yield


@pytest.fixture
def pump(clinic):
    pump = PumpFactory(patient__clinic=clinic, implant_date=date(2025, 9, 1))
    RefillFactory(
        pump=pump,
        performed_on=date(2025, 9, 1),
        daily_dose_mcg=Decimal(100),
        is_initial_fill=True,
        concentration_mcg_ml=Decimal(500),
    )
    ProgramChangeFactory(pump=pump, performed_on=date(2025, 10, 1), daily_dose_mcg=Decimal(150))
    return pump


def data(**overrides):
    values = {
        "reviewed_on": "2026-01-05",
        "penn_score": "2",
        "note": "Transfers easier.",
        "mas_hip_adductors_l": "1+",
        "mas_hip_adductors_r": "2",
    }
    values.update(overrides)
    return values


def test_record_a_review(client, manager, pump):
    client.force_login(manager)
    url = reverse("titration_review_create", args=[pump.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["form"]["reviewed_on"].value() == TODAY
    response = client.post(url, data())
    assert response.status_code == 302
    assert response["Location"].endswith(f"/patients/{pump.patient_id}/#titration")
    review = TitrationReview.objects.get()
    assert review.pump == pump and review.reviewed_on == TODAY and review.reviewed_by == manager
    assert review.mas == {"hip_adductors_l": "1+", "hip_adductors_r": "2"}
    assert review.penn_score == 2 and review.note == "Transfers easier."
    assert LogEntry.objects.get_for_object(review).get().actor == manager


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"reviewed_on": "2026-01-06"}, "reviewed_on", "This date is in the future (today is Mon 5 Jan 2026)."),
        ({"reviewed_on": "2025-08-31"}, "reviewed_on", "before the pump's implant date (Mon 1 Sep 2025)"),
        ({"mas_hip_adductors_l": "5"}, "mas_hip_adductors_l", "takes only 0, 1, 1+, 2, 3 or 4"),
        ({"mas_hip_adductors_l": "1.5"}, "mas_hip_adductors_l", "takes only 0, 1, 1+, 2, 3 or 4"),
        (
            {"mas_hip_adductors_l": "", "mas_hip_adductors_r": ""},
            "mas_hip_flexors_l",
            "Score at least one muscle group",
        ),
        ({"penn_score": "5"}, "penn_score", "Select a valid choice"),
        ({"reviewed_on": ""}, "reviewed_on", "This field is required"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(client, manager, pump, overrides, field, message):
    client.force_login(manager)
    response = client.post(reverse("titration_review_create", args=[pump.pk]), data(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and any(message in e for e in errors[field]), errors
    assert not TitrationReview.objects.exists()


def test_implant_day_itself_is_accepted(client, manager, pump):
    client.force_login(manager)
    client.post(reverse("titration_review_create", args=[pump.pk]), data(reviewed_on="2025-09-01"))
    assert TitrationReview.objects.get().reviewed_on == date(2025, 9, 1)


def test_staff_may_not_record_a_review(client, staff, pump):
    client.force_login(staff)
    assert client.post(reverse("titration_review_create", args=[pump.pk]), data()).status_code == 403
    assert not TitrationReview.objects.exists()


def test_no_review_on_an_explanted_pump(client, manager, clinic):
    pump = PumpFactory(patient__clinic=clinic, status="explanted", explant_date=date(2025, 12, 1))
    client.force_login(manager)
    response = client.post(reverse("titration_review_create", args=[pump.pk]), data(reviewed_on="2025-11-01"))
    assert response.status_code == 302
    assert not TitrationReview.objects.exists()


def test_edit_a_review(client, manager, pump, staff):
    review = TitrationReview.objects.create(
        pump=pump, reviewed_on=date(2025, 12, 1), mas={"hip_adductors_l": "3"}, reviewed_by=staff
    )
    client.force_login(manager)
    url = reverse("titration_review_edit", args=[review.pk])
    page = client.get(url)
    assert page.context["form"]["mas_hip_adductors_l"].value() == "3"
    response = client.post(url, data(reviewed_on="2025-12-02", mas_hip_adductors_r="", penn_score=""))
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.reviewed_on == date(2025, 12, 2)
    assert review.mas == {"hip_adductors_l": "1+"} and review.penn_score is None
    assert review.reviewed_by == staff  # who reviewed stays


def test_a_refused_edit_changes_nothing(client, manager, pump):
    review = TitrationReview.objects.create(pump=pump, reviewed_on=date(2025, 12, 1), mas={"hip_adductors_l": "3"})
    client.force_login(manager)
    response = client.post(reverse("titration_review_edit", args=[review.pk]), data(reviewed_on="2030-01-01"))
    assert response.status_code == 200
    review.refresh_from_db()
    assert review.reviewed_on == date(2025, 12, 1) and review.mas == {"hip_adductors_l": "3"}


def test_delete_asks_first(client, manager, pump):
    review = TitrationReview.objects.create(pump=pump, reviewed_on=date(2025, 12, 1), mas={"hip_adductors_l": "3"})
    client.force_login(manager)
    url = reverse("titration_review_delete", args=[review.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Delete the review of Mon 1 Dec 2025" in page.content.decode()
    client.post(url, {})  # without the confirmation: nothing deleted
    assert TitrationReview.objects.filter(pk=review.pk).exists()
    response = client.post(url, {"confirm": "yes"})
    assert response.status_code == 302
    assert not TitrationReview.objects.filter(pk=review.pk).exists()


def test_another_clinics_review_is_not_found(client, outsider, pump):
    review = TitrationReview.objects.create(pump=pump, reviewed_on=date(2025, 12, 1), mas={"hip_adductors_l": "3"})
    client.force_login(outsider)
    for name in ("titration_review_edit", "titration_review_delete"):
        assert client.get(reverse(name, args=[review.pk])).status_code == 404
    assert client.get(reverse("titration_review_create", args=[pump.pk])).status_code == 404


def test_patient_page_shows_the_titration_chart_and_table(client, staff, pump):
    TitrationReview.objects.create(
        pump=pump, reviewed_on=date(2025, 9, 15), mas={"hip_adductors_l": "3", "hip_adductors_r": "1+"}, penn_score=3
    )
    TitrationReview.objects.create(pump=pump, reviewed_on=date(2025, 11, 15), mas={"hip_adductors_l": "1"})
    client.force_login(staff)
    text = client.get(reverse("patient_detail", args=[pump.patient_id])).content.decode()
    assert "Titration and outcomes" in text
    assert f'id="titration-chart-{pump.pk}"' in text
    assert "<summary>Dose and scores as a table</summary>" in text
    assert "2.25" in text  # mean of 3 and 1+ (1.5)
    assert "150" in text and "program change" in text
    assert "Record a titration review" not in text  # staff: no recording


def test_patient_page_without_reviews(client, manager, pump):
    client.force_login(manager)
    text = client.get(reverse("patient_detail", args=[pump.patient_id])).content.decode()
    assert "No titration review recorded since the implant on Mon 1 Sep 2025." in text
    assert reverse("titration_review_create", args=[pump.pk]) in text


def test_audit_trail_names_the_muscle_groups(client, manager, pump):
    client.force_login(manager)
    client.post(reverse("titration_review_create", args=[pump.pk]), data())
    text = client.get(reverse("patient_history", args=[pump.patient_id])).content.decode()
    assert "Hip adductors, left 1+; Hip adductors, right 2" in text
    assert "hip_adductors_l" not in text
