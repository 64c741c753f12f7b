"""The set-up the screening page tests share: the day they run on (autouse), a referred
candidate, a trial and a superuser. A test file needing another candidate or trial defines
its own fixture of the same name."""

from datetime import date, datetime

import pytest
import time_machine

from screening.models import Stage
from tests.factories import UserFactory
from tests.screening_data import LONDON, make_candidate, make_trial


@pytest.fixture(autouse=True)
def frozen():
    """Wed 25 Nov 2026, noon in London."""
    with time_machine.travel("2026-11-25 12:00:00Z", tick=False):
        yield


@pytest.fixture
def candidate(clinic):
    """Referred on Thu 1 Oct 2026, nothing else yet."""
    return make_candidate(clinic, referral_date=date(2026, 10, 1))


@pytest.fixture
def trial(clinic):
    """A 50 mcg responder trial at 09:15 on Tue 3 Nov 2026; its candidate at "trial done" since."""
    candidate = make_candidate(
        clinic, stage=Stage.TRIAL_DONE, referral_date=date(2026, 10, 1), stage_date=date(2026, 11, 3)
    )
    return make_trial(candidate, given_at=datetime(2026, 11, 3, 9, 15, tzinfo=LONDON), dose="50")


@pytest.fixture
def superuser(db):
    return UserFactory(username="root-admin", is_staff=True, is_superuser=True)
