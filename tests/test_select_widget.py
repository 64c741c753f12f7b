"""The project's select widget (clinic.widgets.OptionsSelect, options written in place)
renders exactly what Django's own select template does; Django's own widget templates are
not overridden, and the long selects (members, list filters) use the project's widget."""

from pathlib import Path

import django
import pytest
from django import forms
from django.forms.renderers import TemplatesSetting, get_default_renderer
from django.template import engines

from clinic.widgets import OptionsSelect

DJANGO_SELECT = Path(django.__file__).parent / "forms/templates/django/forms/widgets/select.html"


class SeveralInPlace(forms.SelectMultiple):
    template_name = OptionsSelect.template_name


class FlagInPlace(forms.NullBooleanSelect):
    template_name = OptionsSelect.template_name


class Choices(forms.Form):
    plain = forms.ChoiceField(
        choices=[("", "Any"), ("a", "A & B"), ("b", '"Quoted"')], required=False, widget=OptionsSelect
    )
    grouped = forms.ChoiceField(
        choices=[("Group <1>", [("1", "One"), ("2", "Two")]), ("3", "Three")], widget=OptionsSelect
    )
    several = forms.MultipleChoiceField(
        choices=[(1, "One"), (2, "Two"), (3, "Three")], required=False, widget=SeveralInPlace
    )
    flag = forms.NullBooleanField(required=False, widget=FlagInPlace)
    disabled = forms.ChoiceField(choices=[("x", "X")], disabled=True, required=False, widget=OptionsSelect)


class DjangosOwn(TemplatesSetting):
    """The same renderer, with Django's select.html instead of the project's."""

    def get_template(self, template_name):
        if template_name == OptionsSelect.template_name:
            return engines["django"].from_string(DJANGO_SELECT.read_text())
        return super().get_template(template_name)


def test_the_project_select_is_the_one_in_use():
    """Its own template, by name; Django's select.html is Django's (no global override)."""
    assert "written in place" in get_default_renderer().get_template(OptionsSelect.template_name).template.source
    djangos = get_default_renderer().get_template("django/forms/widgets/select.html")
    assert djangos.template.source == DJANGO_SELECT.read_text()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"plain": "a", "grouped": "2", "several": ["1", "3"], "flag": "true"},
        {"plain": "b", "grouped": "3", "several": ["2"], "flag": "false", "disabled": "x"},
        {"plain": "<script>", "grouped": "nope"},
    ],
)
def test_same_html_as_djangos_template(data):
    ours = Choices(data or None)
    theirs = Choices(data or None, renderer=DjangosOwn())
    for name in Choices.base_fields:
        assert str(ours[name]) == str(theirs[name]), name
    assert "selected" in str(Choices({"plain": "a"})["plain"])


@pytest.mark.django_db
def test_members_are_chosen_by_full_name_in_every_select(client, clinic, admin_user, manager, staff):
    """SPEC 8 (issue 12 item 10): the pump manager, assigned member and filters list full
    names, the username only for a member without one."""
    from dashboard.filters import CaseloadFilter
    from patients.forms import PatientForm
    from patients.models import Pump
    from records.views_appointments import AppointmentFilterForm
    from refills.forms import AppointmentForm
    from tests.factories import PatientFactory

    staff.first_name = staff.last_name = ""
    staff.save()
    patient = PatientFactory(clinic=clinic)
    today = clinic.today()

    def labels(field):
        return {label for value, label in field.choices if value != ""}

    # The long selects write their options in place (clinic.widgets.OptionsSelect).
    assert isinstance(PatientForm(clinic=clinic, today=today).fields["manager"].widget, OptionsSelect)
    assert isinstance(AppointmentForm(patient=patient, today=today).fields["assigned_to"].widget, OptionsSelect)
    assert isinstance(AppointmentFilterForm(clinic=clinic).fields["assigned"].widget, OptionsSelect)
    filters = CaseloadFilter(queryset=Pump.objects.none(), clinic=clinic, today=today).form.fields
    assert all(isinstance(filters[name].widget, OptionsSelect) for name in ("manager", "booking", "high_risk", "model"))
    assert labels(PatientForm(clinic=clinic, today=today).fields["manager"]) == {
        admin_user.get_full_name(),
        manager.get_full_name(),
    }
    assert labels(AppointmentForm(patient=patient, today=today).fields["assigned_to"]) == {
        admin_user.get_full_name(),
        manager.get_full_name(),
        "sam-staff",
    }
    assert manager.get_full_name() in labels(AppointmentFilterForm(clinic=clinic).fields["assigned"])
    client.force_login(manager)
    html = client.get("/caseload/").content.decode()
    assert f'<option value="{manager.pk}">{manager.get_full_name()}</option>' in html
    page = client.get(f"/patients/{patient.pk}/appointments/new/").content.decode()
    assert f">{manager.get_full_name()}</option>" in page and f">{manager.username}</option>" not in page
