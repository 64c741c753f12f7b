"""The patient page: details, pump, schedule, program, appointments, chart, timeline, audit."""

from datetime import date, time
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from refills import services
from tests.factories import AppointmentFactory, PatientFactory, ProgramChangeFactory, PumpFactory, RefillFactory

FROZEN = "2026-03-15 12:00:00Z"


@pytest.fixture
def pump(clinic):
    """SPEC section 3's example: 20 mL, 0.2 mL/day from 2026-01-01; alarm 2026-04-01, refill due 2026-03-25."""
    patient = PatientFactory(
        clinic=clinic,
        first_name="Ada",
        last_name="Lovelace",
        mrn="MRN-777",
        date_of_birth=date(1970, 2, 3),
        sci_t6_or_above=True,
        previous_withdrawal=True,
    )
    pump = PumpFactory(patient=patient, serial_number="NGP4242", implant_date=date(2024, 6, 1))
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    pump.refresh_from_db()
    return pump


def page(client, user, pump_or_patient):
    client.force_login(user)
    patient = getattr(pump_or_patient, "patient", pump_or_patient)
    with time_machine.travel(FROZEN, tick=False):
        return client.get(reverse("patient_detail", args=[patient.pk]))


def text(response):
    return response.content.decode()


def test_shows_details_schedule_and_program(client, staff, pump):
    html = text(page(client, staff, pump))
    assert (
        "Ada Lovelace" in html and "MRN-777" in html and "Tue 3 Feb 1970" in html
    )  # SPEC 8 date format (issue 12 item 10)
    assert "High risk: SCI at/above T6, previous withdrawal" in html
    assert "NGP4242" in html and "SynchroMed" in html and "Sat 1 Jun 2024" in html
    assert "Sun 1 Jun 2031 <em>(estimated)</em>" in html  # implant + 84 months
    # Alarm, empty and refill due of the SPEC example; due soon from 2026-03-11.
    assert "<dt>Alarm date</dt><dd>Wed 1 Apr 2026</dd>" in html
    assert "<dt>Empty date</dt><dd>Sat 11 Apr 2026</dd>" in html
    assert "Wed 25 Mar 2026 (due in 10 days)" in html
    assert '<span class="badge badge-due_soon">Due soon</span>' in html
    assert "2000 mcg/mL" in html and "400 mcg/day" in html and "Simple continuous" in html
    assert '<span class="badge badge-unbooked">Not booked</span>' in html
    assert "Pump stops" not in html  # no ERI recorded


def test_booked_late_and_appointment_actions(client, staff, pump):
    late = AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 3, 30), local_time=time(9, 30))
    past = AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 3, 10), local_time=time(8, 0))
    AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 2, 1), status="completed")
    html = text(page(client, staff, pump))
    assert '<span class="badge badge-booked">Booked</span>' in html  # the unmarked past one counts as on time
    assert "Tue 10 Mar 2026 08:00 (refill)" in html
    assert reverse("appointment_edit", args=[late.pk]) in html
    assert reverse("appointment_cancel", args=[late.pk]) in html
    # Completed and no-show only once the day has come.
    assert reverse("appointment_complete", args=[past.pk]) in html
    assert reverse("appointment_complete", args=[late.pk]) not in html
    assert "(past, not marked)" in html
    # The completed one is in the timeline, not in the upcoming list.
    assert "Completed" in html.split('id="h-timeline"')[1]


def test_only_late_booking_is_a_warning(client, staff, pump):
    AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 3, 30), local_time=time(9, 30))
    html = text(page(client, staff, pump))
    assert '<span class="badge badge-late">Booked late</span>' in html
    assert "booked after refill due" in html


def test_stop_date_once_synchromed_eri_is_reached(client, staff, pump):
    pump.eri_date = date(2026, 1, 15)
    services.edit_pump(pump)
    html = text(page(client, staff, pump))
    assert "Thu 15 Jan 2026</dd>" in html and "(estimated)" not in html
    assert "Wed 15 Apr 2026" in html and "Pump stops" in html


def test_program_change_is_the_current_program(client, staff, pump):
    ProgramChangeFactory(pump=pump, performed_on=date(2026, 2, 1), daily_dose_mcg=Decimal(500))
    html = text(page(client, staff, pump))
    assert "<dt>Daily dose</dt><dd>500 mcg/day</dd>" in html
    assert "<dt>Since</dt><dd>Sun 1 Feb 2026</dd>" in html
    assert "Daily dose 500 mcg/day." in html  # the timeline entry


def test_timeline_newest_first_with_discrepancy_flag(client, staff, clinic):
    pump = PumpFactory(patient__clinic=clinic, implant_date=date(2025, 10, 1))
    RefillFactory(pump=pump, performed_on=date(2025, 10, 1), is_initial_fill=True)
    # 92 days at 0.2 mL/day leave 1.6 mL; 5 mL found: +3.4 mL, flagged on a 20 mL reservoir.
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), volume_removed_ml=Decimal("5.0"))
    html = text(page(client, staff, pump))
    timeline = html.split('id="h-timeline"')[1].split('id="h-audit"')[0]
    assert "discrepancy +3.4 mL" in timeline
    assert "Discrepancy flagged" in timeline and "Awaiting review" in timeline
    assert timeline.index("Thu 1 Jan 2026") < timeline.index("Wed 1 Oct 2025")  # SPEC 8 dates
    assert timeline.index("Refill") < timeline.index("First fill") < timeline.index("Implant")


def test_chart_and_audit(client, staff, pump):
    html = text(page(client, staff, pump))
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'class="alarm-line"' in html
    assert "Refill due Wed 25 Mar 2026" in html
    audit = html.split('id="h-audit"')[1]
    assert "Patient: Lovelace, Ada (MRN-777)</td>" in audit  # the patient's creation is in the trail
    assert "Pump: SynchroMed II 20 mL, serial NGP4242</td>" in audit  # model by name, no code (issue 12 item 9)
    assert reverse("patient_history", args=[pump.patient.pk]) in html


def test_manager_buttons_only_for_managers(client, staff, manager, pump):
    manager_only = [
        reverse("pump_edit", args=[pump.pk]),
        reverse("pump_explant", args=[pump.pk]),
        reverse("patient_edit", args=[pump.patient.pk]),
        reverse("refill_create", args=[pump.pk]),
    ]
    html = text(page(client, staff, pump))
    assert not any(url in html for url in manager_only)
    assert reverse("wallet_card", args=[pump.patient.pk]) in html
    assert f'{reverse("appointment_create", args=[pump.patient.pk])}?kind=refill"' in html  # the form proposes
    html = text(page(client, manager, pump))
    assert all(url in html for url in manager_only)


def test_patient_without_pump_offers_an_implant(client, manager, clinic):
    patient = PatientFactory(clinic=clinic)
    PumpFactory(patient=patient, status="explanted", explant_date=date(2026, 1, 5))
    html = text(page(client, manager, patient))
    assert "No pump is implanted" in html and "Mon 5 Jan 2026" in html
    assert reverse("pump_create", args=[patient.pk]) in html


def test_outsider_gets_404(client, outsider, pump):
    assert page(client, outsider, pump).status_code == 404


def test_query_count_does_not_grow_with_events(client, staff, pump, django_assert_max_num_queries):
    for month in (2, 3):
        AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, month, 1), status="completed")
    client.force_login(staff)
    with time_machine.travel(FROZEN, tick=False), django_assert_max_num_queries(30):
        client.get(reverse("patient_detail", args=[pump.patient.pk]))
