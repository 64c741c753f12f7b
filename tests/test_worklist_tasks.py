"""worklist.tasks: the beat task syncs every clinic through the plain function; a failing clinic
does not stop the others."""

import pytest
import time_machine
from django.conf import settings

from tests.reminders_data import pump_in_status
from tests.worklist_data import NOW, TODAY
from worklist import sync, tasks
from worklist.models import Item

pytestmark = pytest.mark.django_db


def test_beat_runs_the_sync_on_the_sweeps_interval():
    entry = settings.CELERY_BEAT_SCHEDULE["sync-worklists"]
    assert entry["task"] == "worklist.tasks.sync_worklists"
    assert entry["schedule"] == float(settings.REMINDER_SWEEP_SECONDS)


def test_the_task_syncs_every_clinic(clinic, other_clinic):
    with time_machine.travel(NOW, tick=False):
        pump_in_status(clinic, "overdue", TODAY)
        pump_in_status(other_clinic, "overdue", TODAY)
        assert tasks.sync_worklists.apply().get() == 0
    assert Item.objects.filter(clinic=clinic).count() == 1
    assert Item.objects.filter(clinic=other_clinic).count() == 1


def test_one_clinics_failure_does_not_stop_the_others(clinic, other_clinic, monkeypatch):
    real = sync.sync_clinic

    def broken_for_the_first(one, now=None):
        if one == clinic:
            raise RuntimeError("bad data")
        return real(one, now)

    monkeypatch.setattr(sync, "sync_clinic", broken_for_the_first)
    with time_machine.travel(NOW, tick=False):
        pump_in_status(other_clinic, "overdue", TODAY)
        assert sync.sync_all(NOW) == 1
    assert Item.objects.filter(clinic=other_clinic).count() == 1
