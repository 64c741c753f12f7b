"""worklist.columns on the overdue worklist: each pump's owner (linked to its item) and last contact,
on the page and in the exports, in one query for the page."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.reminders_data import pump_in_status
from tests.worklist_data import NOW, TODAY, refill_item, synced
from worklist import services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_owner_and_last_contact_on_the_overdue_worklist(client, clinic, staff, manager):
    owned = pump_in_status(clinic, "overdue", TODAY, mrn="OWNED")
    away = pump_in_status(clinic, "empty", TODAY, mrn="AWAY")
    pump_in_status(clinic, "alarming", TODAY, mrn="NOBODY")
    synced(clinic)
    item = refill_item(owned)
    services.claim(item, manager, TODAY)
    services.record_contact(
        item, manager, method="phone_no_answer", with_whom="", contacted_at=NOW - timedelta(minutes=30), note=""
    )
    services.record_exception(
        refill_item(away), staff, reason="hospital", note="", until=TODAY + timedelta(days=4), today=TODAY
    )
    client.force_login(staff)
    response = client.get(reverse("overdue"))
    rows = {row.record.patient.mrn: row for row in response.context["table"].rows}
    assert rows["OWNED"].get_cell_value("owner") == manager.get_full_name()
    # The cells' export values: ISO dates (SPEC 8), the page's own words below.
    assert rows["OWNED"].get_cell_value("last_contact") == "2026-11-25 09:30 (Phone: no answer)"
    assert rows["AWAY"].get_cell_value("owner") == f"Excepted until 2026-11-29 ({staff.get_full_name()})"
    assert rows["NOBODY"].get_cell_value("owner") == "Unclaimed"
    html = response.content.decode()
    assert f'href="{reverse("worklist_item", args=[item.pk])}">{manager.get_full_name()}</a>' in html
    assert "last contact: Phone: no answer, Wed 25 Nov 2026 09:30" in html
    assert f"Excepted until Sun 29 Nov 2026 ({staff.get_full_name()})" in html


def test_the_overdue_export_carries_owner_and_last_contact(client, clinic, staff):
    pump = pump_in_status(clinic, "overdue", TODAY, mrn="OWNED")
    away = pump_in_status(clinic, "empty", TODAY, mrn="AWAY")
    synced(clinic)
    item = refill_item(pump)
    services.claim(item, staff, TODAY)
    services.record_contact(
        item, staff, method="phone_no_answer", with_whom="", contacted_at=NOW - timedelta(minutes=30), note=""
    )
    services.record_exception(
        refill_item(away), staff, reason="hospital", note="", until=TODAY + timedelta(days=4), today=TODAY
    )
    client.force_login(staff)
    rows = list(csv.DictReader(io.StringIO(client.get(reverse("overdue"), {"_export": "csv"}).content.decode())))
    by_mrn = {row["MRN"]: row for row in rows}
    assert by_mrn["OWNED"]["Owner"] == staff.get_full_name()
    # Dates in files are ISO like every other date column (SPEC 8), never the page's "Wed 25 Nov 2026".
    assert by_mrn["OWNED"]["Last contact"] == "2026-11-25 09:30 (Phone: no answer)"
    assert by_mrn["AWAY"]["Owner"] == f"Excepted until 2026-11-29 ({staff.get_full_name()})"
    assert by_mrn["AWAY"]["Last contact"] == ""


def test_a_pump_not_yet_synced_says_so(client, clinic, staff):
    pump_in_status(clinic, "overdue", TODAY, mrn="NEW")
    client.force_login(staff)
    assert "not on the worklist yet" in client.get(reverse("overdue")).content.decode()
