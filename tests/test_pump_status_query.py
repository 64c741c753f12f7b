"""The SQL status annotation agrees with the pure schedule functions.

``Pump.objects.with_status(T)`` derives status, booking and days to due in the query;
refills.schedule is the reference. A property test builds random pumps through the
models (so the stored dates come from the real glue), checks the stored dates against
the pure engine fed with the raw inputs, then the annotation against the pure rules.
"""

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from clinic.models import Clinic
from patients.models import Pump
from refills import schedule, services
from refills.models import ProgramChange, Refill
from tests.factories import AppointmentFactory, ClinicFactory, PatientFactory, PumpFactory, pump_model

START = date(2026, 1, 1)
D = Decimal


def cents(low: int, high: int):
    return st.integers(min_value=low, max_value=high).map(lambda n: D(n) / 100)


change_strategy = st.fixed_dictionaries(
    {
        "offset": st.integers(min_value=-20, max_value=200),
        "dose": st.one_of(st.none(), cents(100, 300000)),
        "bolus": st.one_of(st.none(), st.sampled_from([D(0), D(25), D("150.5")])),
    }
).filter(lambda c: c["dose"] is not None or c["bolus"] is not None)

appointment_strategy = st.fixed_dictionaries(
    {
        "offset": st.integers(min_value=-30, max_value=220),
        "kind": st.sampled_from(["refill", "refill", "review", "replacement"]),
        "status": st.sampled_from(["scheduled", "scheduled", "cancelled", "completed", "no_show"]),
    }
)

pump_strategy = st.fixed_dictionaries(
    {
        # Refill dates as offsets from START; none means a pump never filled.
        "refills": st.tuples(
            st.sampled_from([True, True, True, False]),
            st.lists(st.integers(min_value=0, max_value=120), min_size=1, max_size=2, unique=True),
        ).map(lambda filled_dates: filled_dates[1] if filled_dates[0] else []),
        "volume": st.one_of(cents(1000, 2000), cents(1, 2000)),
        "dose": st.one_of(cents(10000, 80000), cents(100, 300000)),
        "bolus": st.sampled_from([D(0), D(0), D(50), D("12.25")]),
        "concentration": st.sampled_from([D(500), D(1000), D(2000), D("1500.50"), D(250)]),
        "alarm": cents(50, 1000),
        "changes": st.lists(change_strategy, max_size=3),
        "appointments": st.lists(appointment_strategy, max_size=3),
        "high_risk": st.booleans(),
    }
)


def expected_schedule(spec, clinic) -> schedule.PumpSchedule | None:
    """The pure engine fed with the raw inputs: an oracle for the stored dates."""
    if not spec["refills"]:
        return None
    refilled_on = START + timedelta(days=max(spec["refills"]))
    concentration, dose, bolus = spec["concentration"], spec["dose"], spec["bolus"]
    changes = []
    for change in sorted(spec["changes"], key=lambda c: c["offset"]):  # stable: creation order on ties
        starts_on = START + timedelta(days=change["offset"])
        if starts_on <= refilled_on:
            continue
        dose = change["dose"] if change["dose"] is not None else dose
        bolus = change["bolus"] if change["bolus"] is not None else bolus
        changes.append(schedule.RateChange(starts_on, schedule.planning_rate(dose, bolus, concentration)))
    cycle = schedule.FillCycle.build(
        refilled_on,
        spec["volume"],
        schedule.planning_rate(spec["dose"], spec["bolus"], concentration),
        changes,
    )
    return schedule.pump_schedule(cycle, spec["alarm"], clinic.buffer_days, 180, clinic.due_soon_days)


def create_pump(clinic, spec, index) -> Pump:
    patient = PatientFactory(
        clinic=clinic, mrn=f"P{index:03d}", previous_withdrawal=spec["high_risk"], first_name="Prop", last_name="Test"
    )
    pump = PumpFactory(patient=patient, serial_number=f"S{index:03d}", alarm_volume_ml=spec["alarm"])
    for offset in sorted(spec["refills"]):
        services.record_refill(
            Refill(
                pump=pump,
                performed_on=START + timedelta(days=offset),
                volume_after_ml=spec["volume"],
                concentration_mcg_ml=spec["concentration"],
                daily_dose_mcg=spec["dose"],
                bolus_allowance_mcg=spec["bolus"],
            )
        )
    for change in spec["changes"]:
        services.change_program(
            ProgramChange(
                pump=pump,
                performed_on=START + timedelta(days=change["offset"]),
                daily_dose_mcg=change["dose"],
                bolus_allowance_mcg=change["bolus"],
            )
        )
    for appointment in spec["appointments"]:
        AppointmentFactory(
            patient=patient,
            pump=pump,
            kind=appointment["kind"],
            status=appointment["status"],
            local_date=START + timedelta(days=appointment["offset"]),
        )
    return pump


def urgent_key(pump: Pump, today: date):
    status = schedule.pump_status(today, pump.empty_date, pump.alarm_date, pump.refill_due, pump.due_soon_from)
    return (
        schedule.STATUS_SEVERITY[status],
        pump.refill_due is not None,  # nulls first
        pump.refill_due or date.min,
        not pump.patient.high_risk,
        pump.patient.mrn,
    )


@pytest.mark.django_db
@settings(
    max_examples=100,
    deadline=None,
    # No shrinking: with a database each shrink step is slow; the failing example is printed as found.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pumps=st.lists(pump_strategy, min_size=1, max_size=4),
    buffer_days=st.integers(min_value=0, max_value=30),
    due_soon_days=st.integers(min_value=1, max_value=60),
    data=st.data(),
)
def test_sql_status_matches_the_pure_rules(pumps, buffer_days, due_soon_days, data):
    with transaction.atomic():
        clinic = ClinicFactory(slug="prop", buffer_days=buffer_days, due_soon_days=due_soon_days)
        created = [create_pump(clinic, spec, i) for i, spec in enumerate(pumps)]
        # T: any day, or a stored date or its neighbour, where the rules change.
        stored_dates = [
            day
            for row in Pump.objects.filter(clinic=clinic).values_list(
                "empty_date", "alarm_date", "refill_due", "due_soon_from"
            )
            for day in row
            if day is not None
        ]
        boundaries = sorted({day + timedelta(days=shift) for day in stored_dates for shift in (-1, 0, 1)})
        anywhere = st.integers(min_value=-10, max_value=300).map(lambda n: START + timedelta(days=n))
        today = data.draw(st.one_of(st.sampled_from(boundaries), anywhere) if boundaries else anywhere, label="T")

        annotated = {
            row["pk"]: row
            for row in Pump.objects.filter(clinic=clinic)
            .with_status(today)
            .values("pk", "status_now", "status_rank", "booking", "days_to_due")
        }
        fresh = {p.pk: p for p in Pump.objects.filter(clinic=clinic).select_related("patient")}
        expected_status = {}
        for spec, pump in zip(pumps, created, strict=True):
            stored = fresh[pump.pk]
            oracle = expected_schedule(spec, clinic)
            if oracle is None:
                assert stored.refill_due is None and stored.alarm_date is None
            else:
                assert (stored.alarm_date, stored.empty_date, stored.refill_due, stored.due_soon_from) == (
                    oracle.alarm_date,
                    oracle.empty_date,
                    oracle.refill_due,
                    oracle.due_soon_from,
                )

            status = schedule.pump_status(
                today, stored.empty_date, stored.alarm_date, stored.refill_due, stored.due_soon_from
            )
            scheduled_refills = [
                START + timedelta(days=a["offset"])
                for a in spec["appointments"]
                if a["kind"] == "refill" and a["status"] == "scheduled"
            ]
            row = annotated[pump.pk]
            assert row["status_now"] == status
            assert row["status_rank"] == schedule.STATUS_SEVERITY[status]
            assert row["booking"] == schedule.booking_state(stored.refill_due, scheduled_refills)
            assert row["days_to_due"] == (None if stored.refill_due is None else (stored.refill_due - today).days)
            expected_status[pump.pk] = status
            event(f"status {status}")
            event(f"booking {row['booking']}")

        for status in schedule.STATUS_SEVERITY:
            selected = set(
                Pump.objects.filter(clinic=clinic).with_status_in([status], today).values_list("pk", flat=True)
            )
            assert selected == {pk for pk, s in expected_status.items() if s == status}

        ordered = list(
            Pump.objects.filter(clinic=clinic).with_status(today).urgent_first().values_list("pk", flat=True)
        )
        assert ordered == sorted(fresh, key=lambda pk: urgent_key(fresh[pk], today))
        transaction.set_rollback(True)


# --- fixed examples ----------------------------------------------------------------


@pytest.fixture
def baseline_pump(clinic):
    """Alarm 2026-04-01, empty 2026-04-11, refill due 2026-03-25, due soon from 2026-03-11."""
    pump = PumpFactory(patient=PatientFactory(clinic=clinic))
    services.record_refill(
        Refill(
            pump=pump,
            performed_on=START,
            volume_after_ml=D(20),
            concentration_mcg_ml=D(2000),
            daily_dose_mcg=D(400),
            is_initial_fill=True,
        )
    )
    return pump


@pytest.mark.django_db
@pytest.mark.parametrize(
    "today, status, days",
    [
        (date(2026, 3, 10), schedule.OK, 15),
        (date(2026, 3, 11), schedule.DUE_SOON, 14),
        (date(2026, 3, 25), schedule.DUE_SOON, 0),
        (date(2026, 3, 26), schedule.OVERDUE, -1),
        (date(2026, 3, 31), schedule.OVERDUE, -6),
        (date(2026, 4, 1), schedule.ALARMING, -7),
        (date(2026, 4, 10), schedule.ALARMING, -16),
        (date(2026, 4, 11), schedule.EMPTY, -17),
        (date(2027, 4, 11), schedule.EMPTY, -382),
    ],
)
def test_sql_status_boundaries(baseline_pump, today, status, days):
    row = Pump.objects.with_status(today).values("status_now", "days_to_due").get(pk=baseline_pump.pk)
    assert row == {"status_now": status, "days_to_due": days}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "appointments, booking",
    [
        ([(date(2026, 3, 25), "refill", "scheduled")], schedule.BOOKED),
        ([(date(2026, 3, 26), "refill", "scheduled")], schedule.BOOKED_LATE),
        ([], schedule.UNBOOKED),
        ([(date(2026, 4, 5), "refill", "scheduled"), (date(2026, 3, 20), "refill", "scheduled")], schedule.BOOKED),
        ([(date(2026, 3, 20), "refill", "cancelled")], schedule.UNBOOKED),
        ([(date(2026, 3, 20), "review", "scheduled")], schedule.UNBOOKED),
        ([(date(2026, 3, 20), "refill", "completed"), (date(2026, 4, 2), "refill", "scheduled")], schedule.BOOKED_LATE),
    ],
)
def test_sql_booking(baseline_pump, appointments, booking):
    for day, kind, status in appointments:
        AppointmentFactory(patient=baseline_pump.patient, pump=baseline_pump, local_date=day, kind=kind, status=status)
    row = Pump.objects.with_status(date(2026, 3, 1)).values("booking").get(pk=baseline_pump.pk)
    assert row["booking"] == booking


@pytest.mark.django_db
def test_next_appointment_is_the_earliest_scheduled(baseline_pump):
    patient = baseline_pump.patient
    AppointmentFactory(patient=patient, pump=baseline_pump, local_date=date(2026, 3, 20), local_time=time(14, 0))
    AppointmentFactory(
        patient=patient, pump=baseline_pump, local_date=date(2026, 3, 20), local_time=time(9, 30), kind="review"
    )
    AppointmentFactory(patient=patient, pump=baseline_pump, local_date=date(2026, 3, 10), status="cancelled")
    row = Pump.objects.with_status(date(2026, 3, 1)).get(pk=baseline_pump.pk)
    assert (row.next_appointment_date, row.next_appointment_time, row.next_appointment_kind) == (
        date(2026, 3, 20),
        time(9, 30),
        "review",
    )


def make_pump(clinic, mrn, volume=None, dose="400", high_risk=False, refilled_on=START):
    pump = PumpFactory(patient=PatientFactory(clinic=clinic, mrn=mrn, sci_t6_or_above=high_risk))
    if volume is not None:
        services.record_refill(
            Refill(
                pump=pump,
                performed_on=refilled_on,
                volume_after_ml=D(volume),
                concentration_mcg_ml=D(2000),
                daily_dose_mcg=D(dose),
            )
        )
    return Pump.objects.get(pk=pump.pk)


@pytest.fixture
def caseload(clinic, other_clinic):
    """On 2026-03-15 (0.2 mL/day from 1 Jan, alarm 2 mL, buffer 7, due soon 14)."""
    pumps = {
        "empty": make_pump(clinic, "M01", volume="14"),  # empty 12 Mar
        "alarming": make_pump(clinic, "M02", volume="16"),  # alarm 12 Mar, empty 22 Mar
        "overdue": make_pump(clinic, "M03", volume="17.5"),  # alarm 19 Mar, due 12 Mar
        "no_fill": make_pump(clinic, "M04"),
        "due_soon": make_pump(clinic, "M05", volume="20"),  # due 25 Mar, due soon from 11 Mar
        "ok": make_pump(clinic, "M06", volume="20", dose="200"),  # due 23 Jun
    }
    make_pump(other_clinic, "M01", volume="14")  # same status elsewhere: never listed
    return pumps


TODAY = date(2026, 3, 15)


@pytest.mark.django_db
def test_caseload_fixture_has_the_statuses_it_claims(clinic, caseload):
    rows = dict(Pump.objects.filter(clinic=clinic).with_status(TODAY).values_list("pk", "status_now"))
    assert {name: rows[pump.pk] for name, pump in caseload.items()} == {name: name for name in caseload}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statuses",
    [
        ["empty"],
        ["empty", "alarming"],
        ["overdue", "due_soon"],
        ["no_fill"],
        ["ok"],
        [],
        list(schedule.STATUS_SEVERITY),
    ],
)
def test_with_status_in_filters(clinic, caseload, statuses):
    selected = set(Pump.objects.filter(clinic=clinic).with_status_in(statuses, TODAY).values_list("pk", flat=True))
    assert selected == {caseload[s].pk for s in statuses}


@pytest.mark.django_db
def test_with_status_in_rejects_an_unknown_status(clinic):
    with pytest.raises(ValueError):
        Pump.objects.with_status_in(["late"], TODAY)


@pytest.mark.django_db
def test_urgent_first_orders_by_severity(clinic, caseload):
    ordered = list(Pump.objects.filter(clinic=clinic).with_status(TODAY).urgent_first())
    assert [p.status_now for p in ordered] == ["empty", "alarming", "overdue", "no_fill", "due_soon", "ok"]


@pytest.mark.django_db
def test_urgent_first_within_a_status_by_refill_due_then_high_risk_then_mrn(clinic):
    # All due soon on 2026-03-15.
    later = make_pump(clinic, "A01", volume="20", high_risk=True)  # due 25 Mar
    plain = make_pump(clinic, "A02", volume="19")  # due 20 Mar
    risky = make_pump(clinic, "A03", volume="19", high_risk=True)  # due 20 Mar, high risk
    plain_first_mrn = make_pump(clinic, "A00", volume="19")  # due 20 Mar
    ordered = list(Pump.objects.filter(clinic=clinic).with_status(TODAY).urgent_first())
    assert {p.status_now for p in ordered} == {"due_soon"}
    assert [p.pk for p in ordered] == [risky.pk, plain_first_mrn.pk, plain.pk, later.pk]


@pytest.mark.django_db
def test_status_changes_with_the_date_without_any_write(clinic):
    pump = make_pump(clinic, "D01", volume="20")
    statuses = [
        Pump.objects.with_status(day).values_list("status_now", flat=True).get(pk=pump.pk)
        for day in (date(2026, 3, 1), date(2026, 3, 20), date(2026, 3, 28), date(2026, 4, 5), date(2026, 4, 20))
    ]
    assert statuses == ["ok", "due_soon", "overdue", "alarming", "empty"]


@pytest.mark.django_db
def test_settings_in_clinic_and_model_are_respected(clinic):
    Clinic.objects.filter(pk=clinic.pk).update(buffer_days=0, due_soon_days=1)
    fresh_clinic = Clinic.objects.get(pk=clinic.pk)
    pump = PumpFactory(patient=PatientFactory(clinic=fresh_clinic), model=pump_model("prometra-ii-20"))
    services.record_refill(
        Refill(
            pump=pump, performed_on=START, volume_after_ml=D(20), concentration_mcg_ml=D(2000), daily_dose_mcg=D(400)
        )
    )
    # Prometra alarm 3 mL: 85 days, due on the alarm date.
    row = Pump.objects.with_status(date(2026, 3, 26)).values("refill_due", "status_now").get(pk=pump.pk)
    assert row == {"refill_due": date(2026, 3, 27), "status_now": "due_soon"}
