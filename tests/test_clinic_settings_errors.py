"""The clinic settings page refuses a bad value as every other form does: "Nothing was saved"
at the top naming each setting, and messages that name the setting and its allowed range
(never Django's "Ensure this value is less than or equal to 30."); nothing is saved."""

import pytest
from django.urls import reverse

from clinic.forms import ClinicSettingsForm
from tests.test_worklist_settings import settings_data

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("buffer_days", "45", "Buffer days must be from 0 to 30; 45 is too high."),
        ("buffer_days", "-1", "Buffer days must be from 0 to 30; -1 is too low."),
        ("due_soon_days", "0", "Due soon days must be from 1 to 60; 0 is too low."),
        ("replacement_window_days", "800", "Replacement window days must be from 30 to 730; 800 is too high."),
        ("digest_hour", "24", "Digest hour must be from 0 to 23; 24 is too high."),
        ("escalation_delay_hours", "46", "Escalation delay (working hours) must be from 1 to 45; 46 is too high."),
        ("screening_target_days", "0", "Screening target (days) must be from 1 to 365; 0 is too low."),
        ("buffer_days", "seven", "Buffer days must be a whole number from 0 to 30."),
        ("buffer_days", "", "Enter Buffer days: a whole number from 0 to 30."),
    ],
)
def test_a_bad_number_names_its_setting_and_range(clinic, field, value, message):
    form = ClinicSettingsForm(settings_data(clinic, **{field: value}), instance=clinic)
    assert not form.is_valid()
    assert form.errors == {field: [message]}  # once, not once per limit


def test_the_page_says_nothing_was_saved_and_saves_nothing(client, clinic, admin_user):
    before = (clinic.buffer_days, clinic.due_soon_days, clinic.name)
    client.force_login(admin_user)
    response = client.post(
        reverse("clinic_settings"), settings_data(clinic, buffer_days="45", due_soon_days="0", name="Renamed")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing was saved: 2 problems to fix" in html
    assert 'href="#id_buffer_days">Buffer days: Buffer days must be from 0 to 30; 45 is too high.</a>' in html
    assert 'href="#id_due_soon_days">Due soon days: Due soon days must be from 1 to 60; 0 is too low.</a>' in html
    assert "Ensure this value" not in html
    clinic.refresh_from_db()
    assert (clinic.buffer_days, clinic.due_soon_days, clinic.name) == before


def test_good_values_still_save(client, clinic, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("clinic_settings"), settings_data(clinic, buffer_days="30", due_soon_days="1"))
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert (clinic.buffer_days, clinic.due_soon_days) == (30, 1)
