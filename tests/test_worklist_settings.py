"""The clinic's escalation delay (Clinic.escalation_delay_hours) on the clinic settings page."""

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from clinic.forms import ClinicSettingsForm

pytestmark = pytest.mark.django_db


def settings_data(clinic, **changes):
    form = ClinicSettingsForm(instance=clinic)
    data = {name: form[name].value() for name in form.fields}
    data = {k: v for k, v in data.items() if v is not None and v is not False}
    data["appointment_reminder_lead_days"] = ", ".join(str(d) for d in clinic.appointment_reminder_lead_days)
    data.update(changes)
    return data


def test_the_default_is_two_working_hours(clinic):
    assert clinic.escalation_delay_hours == 2
    assert "escalation_delay_hours" in model_to_dict(clinic)


def test_an_admin_changes_it_on_the_settings_page(client, clinic, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("clinic_settings")).content.decode()
    assert "Escalation delay (working hours)" in page and "08:00-17:00 on the working days" in page
    response = client.post(reverse("clinic_settings"), settings_data(clinic, escalation_delay_hours="4"))
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.escalation_delay_hours == 4


@pytest.mark.parametrize("value", ["0", "46", "two"])
def test_out_of_range_is_refused_naming_the_field(clinic, value):
    form = ClinicSettingsForm(settings_data(clinic, escalation_delay_hours=value), instance=clinic)
    assert not form.is_valid()
    assert list(form.errors) == ["escalation_delay_hours"]
