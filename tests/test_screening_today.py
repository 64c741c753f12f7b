"""screening/today.py: the candidates waiting for a first trial beyond the clinic's target,
counted and named for Today in one query."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from screening import today as screening_today
from screening.models import Stage
from tests.screening_data import make_candidate, make_trial

TODAY = date(2026, 11, 25)


def test_waiting_beyond_the_target_is_strictly_longer(clinic, manager):
    # 42 days is the target itself: not over it; 43 is.
    make_candidate(clinic, mrn="AT-42", referral_date=date(2026, 10, 14))
    make_candidate(clinic, mrn="AT-43", referral_date=date(2026, 10, 13), clinician=manager)
    waiting = screening_today.waiting_candidates(clinic, TODAY, manager)
    assert [c.patient.mrn for c in waiting.named] == ["AT-43"]
    assert (waiting.count, waiting.mine, waiting.target_days, waiting.more) == (1, 1, 42, 0)
    assert waiting.named[0].days_since_referral == 43


def test_a_trial_ends_the_wait_and_closed_or_later_stages_do_not_wait(clinic, manager):
    tried = make_candidate(clinic, mrn="TRIED", stage=Stage.TRIAL_SCHEDULED, referral_date=date(2026, 8, 1))
    make_trial(tried, given_at=datetime(2026, 9, 1, 9, 0, tzinfo=ZoneInfo("Europe/London")))
    make_candidate(clinic, mrn="CLOSED", stage=Stage.CLOSED, closed_reason="declined", referral_date=date(2026, 8, 1))
    make_candidate(clinic, mrn="LATER", stage=Stage.IMPLANT_SCHEDULED, referral_date=date(2026, 8, 1))
    assert screening_today.waiting_candidates(clinic, TODAY, manager).count == 0


def test_named_up_to_ten_longest_first_counted_all_in_one_query(clinic, other_clinic, manager, staff):
    for n in range(12):
        make_candidate(
            clinic, mrn=f"W{n:02d}", referral_date=date(2026, 9, 1 + n), clinician=manager if n % 3 == 0 else None
        )
    make_candidate(other_clinic, mrn="ELSEWHERE", referral_date=date(2026, 8, 1))
    with CaptureQueriesContext(connection) as queries:
        waiting = screening_today.waiting_candidates(clinic, TODAY, manager)
        names = [c.patient.mrn for c in waiting.named] + [str(c.clinician) for c in waiting.named]
    assert len(queries) == 1
    assert names[:10] == [f"W{n:02d}" for n in range(10)]
    assert (waiting.count, waiting.more, waiting.mine) == (12, 2, 4)
    assert screening_today.waiting_candidates(clinic, TODAY, staff).mine == 0


@pytest.mark.parametrize("days", [30, 60])
def test_the_target_is_the_clinics(clinic, days):
    clinic.screening_target_days = days
    make_candidate(clinic, referral_date=date(2026, 10, 1))  # 55 days
    assert screening_today.waiting_candidates(clinic, TODAY).count == (1 if days == 30 else 0)


def test_admins_set_the_target_on_the_clinic_settings_page(client, admin_user, clinic):
    from django.urls import reverse

    from tests.test_fuzz_forms import SETTINGS_DATA

    client.force_login(admin_user)
    assert 'name="screening_target_days" value="42"' in client.get(reverse("clinic_settings")).content.decode()
    response = client.post(reverse("clinic_settings"), {**SETTINGS_DATA, "screening_target_days": "0"})
    assert response.status_code == 200 and "screening_target_days" in response.context["form"].errors
    response = client.post(reverse("clinic_settings"), {**SETTINGS_DATA, "screening_target_days": "28"})
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.screening_target_days == 28
