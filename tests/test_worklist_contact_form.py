"""The item page's contact form: the outcome ("How") starts empty and is required, named in its
error; the contact and exception forms on the same page have their own ids, so each label
points at its own field."""

import re
from collections import Counter

import pytest
import time_machine
from django.urls import reverse

from tests.reminders_data import pump_in_status
from tests.worklist_data import NOW, TODAY, refill_item, synced
from worklist.forms import ContactForm
from worklist.models import ContactAttempt

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def item(clinic):
    pump = pump_in_status(clinic, "overdue", TODAY, mrn="LATE8")
    synced(clinic)
    return refill_item(pump)


def test_no_outcome_is_chosen_for_the_member(clinic):
    form = ContactForm(clinic=clinic)
    assert form["method"].value() is None
    assert "checked" not in str(form["method"])


def test_the_page_preselects_nothing_and_every_id_is_unique(client, item, staff):
    client.force_login(staff)
    html = client.get(reverse("worklist_item", args=[item.pk])).content.decode()
    assert not re.search(r'<input[^>]*name="method"[^>]*checked', html)
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert [name for name, n in ids.items() if n > 1] == []
    # Each note's label points at its own textarea, inside its own form.
    contact = html[html.index('id="contact-heading"') : html.index('id="exception-heading"')]
    exception = html[html.index('id="exception-heading"') :]
    assert '<label for="id_contact_note">Note</label><textarea name="note"' in contact
    assert 'id="id_contact_note"' in contact
    assert '<label for="id_exception_note">Note</label><textarea name="note"' in exception
    # The outcome is a group of radios: a fieldset named by its legend (a label for="" points nowhere).
    assert "<fieldset><legend>How</legend>" in contact
    assert 'for=""' not in html


def test_a_contact_without_an_outcome_is_refused_naming_it(client, item, staff):
    client.force_login(staff)
    response = client.post(
        reverse("worklist_contact", args=[item.pk]),
        {"with_whom": "patient", "contacted_on": "2026-11-25", "contacted_time": "09:45"},
    )
    assert response.status_code == 200
    assert response.context["contact_form"].errors["method"] == [
        "How: choose what the attempt was (phone reached, no answer or message left, letter or email)."
    ]
    assert "How: choose what the attempt was" in response.content.decode()
    assert not ContactAttempt.objects.exists()


def test_a_refused_contact_names_the_field_in_the_error_summary(client, staff, item):
    client.force_login(staff)
    response = client.post(
        reverse("worklist_contact", args=[item.pk]),
        {"with_whom": "patient", "contacted_on": "2026-11-25", "contacted_time": "09:45"},
    )
    html = response.content.decode()
    assert 'data-testid="error-summary"' in html
    assert "Nothing was saved: 1 problem to fix" in html
    assert html.count("Nothing was saved") == 1  # the summary alone, no second banner
