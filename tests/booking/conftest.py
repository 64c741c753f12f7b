"""The booking pages' scenario, shared by the tests in this folder.

Today is Sunday 1 Mar 2026 (Europe/London). The pump (its patient managed by the clinic's
pump manager) was implanted on 1 Dec 2025 and first filled on 1 Jan 2026: its refill is due
Wed 25 Mar 2026. ``tuesday_session``: the manager's refill session on Tuesdays, 09:00, two
30-minute slots (09:00-10:00).
"""

from datetime import date, time

import pytest
import time_machine

from clinic.models import Membership
from scheduling.models import RefillSession
from tests.factories import PatientFactory, PumpFactory, RefillFactory

REFILL_DUE = date(2026, 3, 25)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel("2026-03-01 12:00:00Z", tick=False):
        yield


@pytest.fixture
def pump(clinic, manager):
    patient = PatientFactory(clinic=clinic, manager=manager)
    pump = PumpFactory(patient=patient, implant_date=date(2025, 12, 1))
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    pump.refresh_from_db()
    assert pump.refill_due == REFILL_DUE
    return pump


@pytest.fixture
def tuesday_session(clinic, manager):
    member = Membership.objects.get(clinic=clinic, user=manager)
    return RefillSession.objects.create(clinic=clinic, member=member, weekday=1, start_time=time(9), slots=2)
