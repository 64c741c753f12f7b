"""worklist.today and Today's page: escalated items on top, the standing check with its link, and
the owner and last contact of each action item."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.reminders_data import pump_in_status
from tests.worklist_data import NOW, TODAY, refill_item, synced
from worklist import services
from worklist.models import Item

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def today_page(client, user):
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response


def test_escalated_items_sit_at_the_top(client, clinic, staff):
    pump = pump_in_status(clinic, "empty", TODAY, mrn="DRY1")
    synced(clinic)
    Item.objects.filter(pump=pump).update(escalated_at=NOW - timedelta(hours=1))
    response = today_page(client, staff)
    [row] = response.context["worklist"].escalated
    assert row["patient"].mrn == "DRY1"
    html = response.content.decode()
    assert html.index("escalated-heading") < html.index("standing-heading") < html.index("dangers-heading")
    assert "Escalated Wed 25 Nov 2026 09:00" in html and "Still unclaimed" in html


def test_no_escalated_panel_without_escalated_items(client, clinic, staff):
    pump_in_status(clinic, "empty", TODAY)
    synced(clinic)
    assert "escalated-heading" not in today_page(client, staff).content.decode()


def test_the_standing_check_counts_and_links(client, clinic, staff):
    pump_in_status(clinic, "due_soon", TODAY)
    pump_in_status(clinic, "overdue", TODAY)
    pump_in_status(clinic, "ok", TODAY)
    response = today_page(client, staff)
    assert response.context["worklist"].standing_count == 2
    html = response.content.decode()
    assert '<span class="standing-count">2</span>' in html
    assert f'href="{reverse("worklist_unbooked")}"' in html


def test_the_action_list_names_each_items_owner_and_last_contact(client, clinic, staff, manager):
    claimed = pump_in_status(clinic, "overdue", TODAY, mrn="OWNED")
    pump_in_status(clinic, "alarming", TODAY, mrn="NOBODY")
    synced(clinic)
    item = refill_item(claimed)
    services.claim(item, manager, TODAY)
    services.record_contact(item, manager, method="phone_reached", with_whom="", contacted_at=NOW, note="")
    html = today_page(client, staff).content.decode()
    owned = html[html.index(">OWNED<") :]
    owned = owned[: owned.index("</li>")]
    assert f"{manager.get_full_name()}, since Wed 25 Nov 2026 10:00" in owned
    assert "last contact: Phone: reached, Wed 25 Nov 2026 10:00" in owned
    nobody = html[html.index(">NOBODY<") :]
    assert "Unclaimed" in nobody[: nobody.index("</li>")]


def test_at_most_ten_escalated_items_with_a_link_to_the_rest(client, clinic, staff):
    pumps = [pump_in_status(clinic, "overdue", TODAY) for _ in range(12)]
    synced(clinic)
    for n, pump in enumerate(pumps):
        Item.objects.filter(pump=pump).update(escalated_at=NOW - timedelta(minutes=n), sort_rank=-1)
    # The action list names 12 overdue pumps too; only the 10 latest escalations are shown on top.
    response = today_page(client, staff)
    worklist = response.context["worklist"]
    assert len(worklist.escalated) == 10 and worklist.more_escalated
    assert [row["item"].escalated_at for row in worklist.escalated] == [NOW - timedelta(minutes=n) for n in range(10)]
    assert "All escalated items, first on the worklist" in response.content.decode()
