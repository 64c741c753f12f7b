"""Program change: pre-filled with the program in force, previewed, then saved.

Baseline: a SynchroMed II 20 mL (alarm 2 mL) filled on 2025-10-01 with 20 mL at
2000 mcg/mL, 400 mcg/day (0.2 mL/day): alarm 2025-12-30. Today is 2025-11-01: 13.8 mL
left. Raising the dose to 500 mcg/day (0.25 mL/day) gives alarm 2025-11-01 +
floor(11.8 / 0.25) = 47 days = 2025-12-18 and refill due 2025-12-11.
"""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from patients.models import Pump
from refills.models import ProgramChange
from tests.factories import PatientFactory, PumpFactory, RefillFactory

pytestmark = pytest.mark.django_db

TODAY = date(2025, 11, 1)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel("2025-11-01 12:00:00Z", tick=False):
        yield


@pytest.fixture
def pump(clinic):
    pump = PumpFactory(patient=PatientFactory(clinic=clinic), implant_date=date(2025, 9, 1))
    RefillFactory(pump=pump, performed_on=date(2025, 10, 1), is_initial_fill=True)
    pump.refresh_from_db()
    return pump


def url(pump):
    return reverse("program_change_create", kwargs={"pk": pump.pk})


def change_data(**overrides):
    data = {"performed_on": "2025-11-01", "daily_dose_mcg": "500", "bolus_allowance_mcg": "0", "dosing_mode": "simple"}
    data.update(overrides, action=overrides.get("action", "save"))
    return {key: value for key, value in data.items() if value is not None}


def alarm_and_due(pump):
    return Pump.objects.values_list("alarm_date", "refill_due").get(pk=pump.pk)


def test_get_prefills_today_and_the_current_program(client, manager, pump):
    client.force_login(manager)
    initial = client.get(url(pump)).context["form"].initial
    assert initial["performed_on"] == TODAY
    assert initial["daily_dose_mcg"] == Decimal("400")
    assert initial["dosing_mode"] == "simple"


def test_preview_shows_the_new_dates_and_saves_nothing(client, manager, pump):
    client.force_login(manager)
    before = alarm_and_due(pump)
    response = client.post(url(pump), change_data(action="preview"))
    assert response.status_code == 200
    result = response.context["preview"]
    assert result.volume_on_change_ml == Decimal("13.80")
    assert result.schedule.alarm_date == date(2025, 12, 18)
    assert result.schedule.refill_due == date(2025, 12, 11)
    assert "Thu 18 Dec 2025" in response.content.decode()
    assert not ProgramChange.objects.exists()
    assert alarm_and_due(pump) == before == (date(2025, 12, 30), date(2025, 12, 23))


def test_save_stores_the_change_and_the_preview_dates(client, manager, pump):
    client.force_login(manager)
    response = client.post(url(pump), change_data())
    assert response.status_code == 302
    change = ProgramChange.objects.get(pump=pump)
    assert change.daily_dose_mcg == Decimal("500") and change.performed_by == manager
    assert alarm_and_due(pump) == (date(2025, 12, 18), date(2025, 12, 11))


def test_bolus_only_keeps_the_dose(client, manager, pump):
    client.force_login(manager)
    # 400 + 100 mcg/day is the same 0.25 mL/day as 500 mcg/day.
    response = client.post(url(pump), change_data(daily_dose_mcg="", bolus_allowance_mcg="100", action="preview"))
    assert response.context["preview"].schedule.alarm_date == date(2025, 12, 18)
    client.post(url(pump), change_data(daily_dose_mcg="", bolus_allowance_mcg="100"))
    change = ProgramChange.objects.get(pump=pump)
    assert change.daily_dose_mcg is None and change.bolus_allowance_mcg == Decimal("100")
    assert alarm_and_due(pump)[0] == date(2025, 12, 18)


def test_unusual_dose_needs_the_tick(client, manager, pump):
    client.force_login(manager)
    response = client.post(url(pump), change_data(daily_dose_mcg="1600"))
    assert response.status_code == 200
    assert [field.name for field, _ in response.context["needed"]] == ["confirm_unusual_dose"]
    assert response.context["preview"] is not None
    assert not ProgramChange.objects.exists()
    assert client.post(url(pump), change_data(daily_dose_mcg="1600", confirm_unusual_dose="on")).status_code == 302
    assert ProgramChange.objects.get().daily_dose_mcg == Decimal("1600")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("daily_dose_mcg", "abc"),
        ("daily_dose_mcg", "1e30"),
        ("daily_dose_mcg", "4000"),
        ("bolus_allowance_mcg", "-1"),
        ("performed_on", "1800-01-01"),
        ("performed_on", "2025-10-01"),  # the fill date: record the dose in the fill
        ("performed_on", "2025-11-02"),
    ],
)
def test_garbage_is_a_field_error_and_saves_nothing(client, manager, pump, field, value):
    client.force_login(manager)
    response = client.post(url(pump), change_data(**{field: value}))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not ProgramChange.objects.exists()


def test_a_pump_without_a_fill_cannot_change_program(client, manager, clinic):
    pump = PumpFactory(patient=PatientFactory(clinic=clinic), implant_date=date(2025, 9, 1))
    client.force_login(manager)
    response = client.post(url(pump), change_data(action="preview"))
    assert response.context["preview"] is None
    assert "Record the pump's fill" in response.context["form"].errors["performed_on"][0]


def test_staff_gets_403(client, staff, pump):
    client.force_login(staff)
    assert client.get(url(pump)).status_code == 403
    assert client.post(url(pump), change_data()).status_code == 403
    assert not ProgramChange.objects.exists()


def test_outsider_gets_404(client, outsider, pump):
    client.force_login(outsider)
    assert client.get(url(pump)).status_code == 404
    assert client.post(url(pump), change_data()).status_code == 404
    assert not ProgramChange.objects.exists()


def test_a_refused_change_shows_the_summary_linking_its_fields(client, manager, pump):
    """Issue 12 item 14: a refused form says at the top that nothing was saved, and where."""
    client.force_login(manager)
    before = alarm_and_due(pump)
    response = client.post(url(pump), change_data(performed_on="2025-10-01", daily_dose_mcg="-5"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="error-summary" tabindex="-1" autofocus' in html
    assert "Nothing was saved: 2 problems to fix" in html
    assert '<a href="#id_performed_on">' in html and '<a href="#id_daily_dose_mcg">' in html
    assert not ProgramChange.objects.filter(pump=pump).exists()
    assert alarm_and_due(pump) == before
    assert "error-summary" not in client.get(url(pump)).content.decode()


def test_a_preview_on_the_day_of_an_earlier_change_shows_the_new_rate(client, manager, pump):
    # A change to 420 mcg/day today (0.21 mL/day); previewing 1000 mcg/day must say 0.5 mL/day.
    client.force_login(manager)
    assert client.post(url(pump), change_data(daily_dose_mcg="420")).status_code == 302
    response = client.post(url(pump), change_data(daily_dose_mcg="1000", action="preview"))
    html = response.content.decode()
    assert "planned use from then 0.5 mL/day" in html
    assert "0.21 mL/day" not in html
    # 13.8 mL on 1 Nov at 0.5 mL/day: alarm 23 days later.
    assert response.context["preview"].schedule.alarm_date == date(2025, 11, 24)


def test_a_change_to_the_program_in_force_is_refused_naming_the_dose(client, manager, pump):
    client.force_login(manager)
    response = client.post(url(pump), change_data(daily_dose_mcg="400", bolus_allowance_mcg="0"))
    assert response.status_code == 200
    assert not ProgramChange.objects.exists()
    assert response.context["form"].errors["daily_dose_mcg"] == [
        "Nothing changed: the daily dose and bolus allowance are already 400 mcg/day and 0 mcg/day. Enter the new "
        "dose or bolus allowance."
    ]
    assert "since Wed 1 Oct 2025" in response.content.decode()  # "Program now ... since" did not move
