"""Today's queries for each role, with the caseload cache cold (the test settings have no
cache: the first visit after a change) and warm (a second visit), and the numbers unchanged.

Cold, 11: the session, user, two-factor and membership lookups (4); the pump counts (1); the
flagged refills' counts with the worklist's standing check, one query of subqueries (1: they
were two); the action list's pumps and flagged refills (2); the failed reminders (1); the
worklist's items (1); the screening candidates waiting (1). Warm, 9: the counts come from the
cache. The failed reminders, the worklist's items (claims, contacts) and the candidates change
without a new caseload version, so they are read on every visit."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache

from dashboard.views import today_counts
from refills import schedule
from tests.dashboard_data import FROZEN, TODAY, book_refill, flagged_refill, pump_with_status
from tests.page_queries import count_queries, logged_in
from tests.screening_data import make_candidate
from worklist import sync
from worklist.models import Item
from worklist.standing import standing_check_count

pytestmark = pytest.mark.django_db

TODAY_COLD = 11
TODAY_WARM = 9
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "today-queries"}}


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture
def busy_clinic(clinic, manager):
    """Pumps of every danger, a standing-check failure and an exception, escalated worklist
    items and candidates waiting beyond the clinic's target: every part of Today has rows."""
    for n, status in enumerate([schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE, schedule.DUE_SOON] * 2):
        pump_with_status(clinic, status, manager=manager if n % 2 else None)
    late = pump_with_status(clinic, schedule.OK, manager=manager)
    book_refill(late, late.refill_due + timedelta(days=3))
    flagged_refill(clinic, manager=manager)
    flagged_refill(clinic, removed="10")
    sync.sync_clinic(clinic)
    excepted = Item.objects.filter(clinic=clinic, kind="refill", pump__refill_due__lt=TODAY).order_by("pk").first()
    Item.objects.filter(pk=excepted.pk).update(
        state=Item.State.EXCEPTED, excepted_until=TODAY + timedelta(days=5), exception_reason="other"
    )
    last = Item.objects.filter(clinic=clinic).order_by("pk").last()
    Item.objects.filter(pk=last.pk).update(escalated_at=datetime(2026, 4, 1, 9, tzinfo=UTC))
    for n in range(3):
        make_candidate(clinic, referral_date=date(2025, 12, 1) + timedelta(days=n), clinician=manager)
    return clinic


@pytest.mark.parametrize("role", ["staff", "manager", "admin_user"])
@pytest.mark.parametrize("url", ["/", "/?mine=1"])
def test_today_cold_and_warm_for_each_role(client, busy_clinic, role, url, request, settings):
    logged_in(client, request.getfixturevalue(role))
    assert count_queries(client, url) == TODAY_COLD
    settings.CACHES = LOCMEM
    cache.clear()
    try:
        assert count_queries(client, url) == TODAY_COLD  # the first visit counts
        assert count_queries(client, url) == TODAY_WARM  # the next ones read the counts from the cache
    finally:
        cache.clear()


def test_today_shows_the_same_numbers(client, busy_clinic, manager):
    logged_in(client, manager)
    response = client.get("/")
    counts = response.context["counts"]
    # The standing check, now counted with the cards, is the standing check's own count.
    # (the eight pumps due soon or worse, none booked, but the one under an exception).
    assert counts["standing_check"] == standing_check_count(busy_clinic, TODAY) == 7
    assert response.context["worklist"].standing_count == 7
    assert '<span class="standing-count">7</span>' in response.content.decode()
    # The flagged refills: two awaiting review (the manager's own: more left than expected, an
    # under-delivery; the other: less left than expected).
    assert (counts["review"], counts["my_review"]) == (2, 1)
    assert (counts["under_delivery"], counts["my_under_delivery"]) == (1, 1)
    assert counts == today_counts(busy_clinic, TODAY, manager)
    assert len(response.context["worklist"].escalated) == 1
    assert response.context["screening_waiting"].count == 3


def test_a_flagged_refill_of_another_clinic_is_not_counted(client, busy_clinic, other_clinic, manager):
    flagged_refill(other_clinic)
    counts = today_counts(busy_clinic, TODAY, manager)
    assert (counts["review"], counts["under_delivery"]) == (2, 1)
