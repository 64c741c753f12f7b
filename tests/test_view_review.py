"""The review list of residual discrepancies and a manager's acknowledgement."""

from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages

from refills import schedule
from refills.models import Refill
from tests.dashboard_data import FROZEN, flagged_refill, pump_with_status

pytestmark = pytest.mark.django_db

URL = "/review/"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


def ack_url(refill):
    return f"/review/{refill.pk}/acknowledge/"


@pytest.fixture
def under(clinic, manager):
    """18 mL removed where 14 mL was expected: +4 mL, more left than expected."""
    return flagged_refill(clinic, mrn="UNDER1", removed="18", manager=manager)


@pytest.fixture
def over(clinic):
    """11 mL removed where 14 mL was expected: -3 mL, less left than expected."""
    return flagged_refill(clinic, mrn="OVER1", removed="11")


def listed(response):
    return [refill.pump.patient.mrn for refill in response.context["refills"]]


def test_lists_flagged_refills_with_expected_actual_difference_and_meaning(client, staff, under, over):
    assert under.expected_residual_ml == Decimal("14.000") and under.residual_discrepancy_ml == Decimal("4.000")
    client.force_login(staff)
    response = client.get(URL)
    assert listed(response) == ["UNDER1", "OVER1"]
    html = response.content.decode()
    # SPEC 8 (issue 12 item 10): no trailing zeros, the discrepancy always signed.
    assert '<td class="num" data-label="Expected residual (mL)">14</td>' in html
    assert '<td class="num" data-label="Actual residual (mL)">18</td>' in html
    assert "<strong>+4</strong>" in html and "<strong>-3</strong>" in html
    assert "SynchroMed II 20 mL" in html and "synchromed-ii-20 " not in html  # the model by name
    assert "possible under-delivery" in html and "Withdrawal risk" in html
    assert "possible over-delivery or a pocket fill" in html


def test_refills_within_tolerance_and_other_clinics_are_not_listed(client, staff, clinic, other_clinic, under):
    flagged_refill(clinic, mrn="CLOSE1", removed="14.5")  # +0.5 mL on 20 mL: within 1.0 mL
    flagged_refill(other_clinic, mrn="SOUTH1")
    client.force_login(staff)
    assert listed(client.get(URL)) == ["UNDER1"]


def test_outsider_sees_their_own_clinics_reviews(client, outsider, other_clinic, under):
    flagged_refill(other_clinic, mrn="SOUTH1")
    client.force_login(outsider)
    assert listed(client.get(URL)) == ["SOUTH1"]


def test_manager_filter(client, staff, manager, under, over):
    client.force_login(staff)
    assert listed(client.get(URL, {"manager": manager.pk})) == ["UNDER1"]


def test_staff_see_no_acknowledge_form_and_cannot_acknowledge(client, staff, under):
    client.force_login(staff)
    html = client.get(URL).content.decode()
    assert "UNDER1" in html and ack_url(under) not in html and "<textarea" not in html
    response = client.post(ack_url(under), {"note": "Looked fine"})
    assert response.status_code == 403
    under.refresh_from_db()
    assert under.needs_review and under.reviewed_by is None and under.review_note == ""


def test_manager_sees_a_labelled_note_field(client, manager, under):
    client.force_login(manager)
    html = client.get(URL).content.decode()
    assert f'action="{ack_url(under)}"' in html
    assert f'<label for="note-{under.pk}">Note for UNDER1</label>' in html
    assert f'<textarea id="note-{under.pk}" name="note"' in html


def test_manager_acknowledges_with_a_note(client, manager, under, over):
    due_before = under.pump.refill_due
    client.force_login(manager)
    response = client.post(ack_url(under), {"note": "  Catheter checked by dye study; no leak.  "})
    assert response.status_code == 302 and response["Location"] == URL
    under.refresh_from_db()
    assert not under.needs_review
    assert under.reviewed_by == manager and under.reviewed_at is not None
    assert under.review_note == "Catheter checked by dye study; no leak."
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == ["Review of the refill of UNDER1 acknowledged."]
    assert listed(client.get(URL)) == ["OVER1"]
    # The pump's schedule is untouched by an acknowledgement.
    assert Refill.objects.select_related("pump").get(pk=under.pk).pump.refill_due == due_before


@pytest.mark.parametrize("note", ["", "   "])
def test_an_empty_note_is_refused_and_nothing_saved(client, manager, under, note):
    client.force_login(manager)
    response = client.post(ack_url(under), {"note": note}, follow=True)
    under.refresh_from_db()
    assert under.needs_review and under.reviewed_by is None and under.reviewed_at is None
    html = response.content.decode()
    assert "Note: write what was checked or done before acknowledging the refill of UNDER1. Nothing was saved." in html
    assert 'class="message message-error"' in html


def test_acknowledging_twice_changes_nothing(client, manager, admin_user, under):
    client.force_login(manager)
    client.post(ack_url(under), {"note": "First"})
    client.force_login(admin_user)
    response = client.post(ack_url(under), {"note": "Second"}, follow=True)
    under.refresh_from_db()
    assert under.reviewed_by == manager and under.review_note == "First"
    assert "already acknowledged" in response.content.decode()


def test_outsider_gets_404_and_get_is_not_offered(client, outsider, manager, under):
    client.force_login(outsider)
    assert client.post(ack_url(under), {"note": "x"}).status_code == 404
    client.force_login(manager)
    assert client.get(ack_url(under)).status_code == 405
    under.refresh_from_db()
    assert under.needs_review


def test_discrepancy_meaning_filter_matches_the_engine():
    from dashboard.templatetags.dashboard import discrepancy_meaning

    assert discrepancy_meaning(Decimal("2.5")) == schedule.discrepancy_meaning(Decimal("2.5"))
    assert "over-delivery" in discrepancy_meaning(Decimal("-1.5"))
    assert discrepancy_meaning(None) == ""


def test_fresh_pump_has_nothing_to_review(client, staff, clinic):
    pump_with_status(clinic, schedule.OK)
    client.force_login(staff)
    assert "No refills await review." in client.get(URL).content.decode()
