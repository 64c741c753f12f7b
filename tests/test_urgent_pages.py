"""dashboard.views.urgent_pages: a page in the default order reads only the pumps that can be
on it, and shows exactly the rows of the whole list's order, on every page."""

import pytest
import time_machine

from dashboard.views import OVERDUE_STATUSES, active_pumps
from refills import schedule
from tests.dashboard_data import FROZEN, TODAY, pump_with_status

pytestmark = pytest.mark.django_db

MIX = {
    schedule.EMPTY: 8,
    schedule.ALARMING: 6,
    schedule.OVERDUE: 5,
    schedule.NO_FILL: 2,
    schedule.DUE_SOON: 3,
    schedule.OK: 4,
}


@pytest.fixture
def caseload(clinic, manager):
    with time_machine.travel(FROZEN, tick=False):
        for status, count in MIX.items():
            for n in range(count):
                pump_with_status(clinic, status, mrn=f"{status[:3].upper()}{n}", previous_withdrawal=n % 3 == 0)
        yield


def page_mrns(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return [row.record.patient.mrn for row in response.context["table"].paginated_rows]


@pytest.mark.parametrize("per_page", [5, 7])
def test_every_caseload_page_matches_the_whole_order(client, clinic, staff, caseload, per_page):
    with time_machine.travel(FROZEN, tick=False):
        client.force_login(staff)
        whole = [p.patient.mrn for p in active_pumps(clinic, TODAY).urgent_first()]
        assert len(whole) == sum(MIX.values())
        shown = []
        for page in range(1, -(-len(whole) // per_page) + 1):
            rows = page_mrns(client, f"/caseload/?per_page={per_page}&page={page}")
            assert rows == whole[(page - 1) * per_page : page * per_page], page
            shown += rows
            # The caption still counts the whole list.
            assert client.get(f"/caseload/?per_page={per_page}&page={page}").context["table"].paginator.count == len(
                whole
            )
        assert shown == whole


def test_every_overdue_page_matches_the_whole_order(client, clinic, staff, caseload):
    with time_machine.travel(FROZEN, tick=False):
        client.force_login(staff)
        whole = [
            p.patient.mrn for p in active_pumps(clinic, TODAY).with_status_in(OVERDUE_STATUSES, TODAY).urgent_first()
        ]
        assert len(whole) == MIX[schedule.EMPTY] + MIX[schedule.ALARMING] + MIX[schedule.OVERDUE]
        shown = []
        for page in range(1, 5):
            shown += page_mrns(client, f"/overdue/?per_page=6&page={page}")
        assert shown == whole


def test_a_filtered_page_is_narrowed_within_the_filter(client, clinic, staff, caseload):
    with time_machine.travel(FROZEN, tick=False):
        client.force_login(staff)
        whole = [p.patient.mrn for p in active_pumps(clinic, TODAY).filter(patient__high_risk=True).urgent_first()]
        rows = page_mrns(client, "/caseload/?high_risk=true&per_page=3&page=1") + page_mrns(
            client, "/caseload/?high_risk=true&per_page=3&page=2"
        )
        assert rows == whole[:6]
