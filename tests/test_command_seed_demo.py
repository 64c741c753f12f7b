"""`manage.py seed_demo`: an invented clinic whose caseload shows every status, whenever run."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory

from clinic.models import Clinic, Membership
from demo import seeder as demo
from patients.models import Patient, Pump
from refills.models import Appointment, ProgramChange, Refill
from refills.services import status_on

# A Sunday on which London moves to summer time, and a leap day.
DATES = [
    pytest.param(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), date(2026, 3, 29), id="dst-sunday"),
    pytest.param(datetime(2028, 2, 29, 23, 30, tzinfo=UTC), date(2028, 2, 29), id="leap-day-late-evening"),
]
SUMMER_EVENING = datetime(2027, 7, 14, 23, 30, tzinfo=UTC)  # already 15 July in London

ALL_STATUSES = ("empty", "alarming", "overdue", "due_soon", "ok")


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict:
    User = get_user_model()
    return {
        "clinics": Clinic.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "patients": Patient.objects.count(),
        "pumps": Pump.objects.count(),
        "refills": Refill.objects.count(),
        "program_changes": ProgramChange.objects.count(),
        "appointments": Appointment.objects.count(),
    }


def caseload(clinic, today):
    return list(Pump.objects.active().filter(clinic=clinic).with_status(today).select_related("model", "patient"))


@pytest.mark.parametrize(("moment", "local_today"), DATES)
def test_seed_covers_every_status_and_the_work_lists(db, moment, local_today):
    with time_machine.travel(moment, tick=False):
        output = seed()
        clinic = Clinic.objects.get(slug="demo")
        today = clinic.today()
        assert today == local_today
        assert (clinic.name, clinic.time_zone) == ("Demo Pump Clinic", "Europe/London")
        assert clinic.phone and clinic.email.endswith("@example.invalid")

        pumps = caseload(clinic, today)
        statuses = Counter(p.status_now for p in pumps)
        # Several of each status, most of the caseload fine or due soon like a real clinic.
        assert set(statuses) == set(ALL_STATUSES)
        assert all(statuses[s] >= 3 for s in ALL_STATUSES), statuses
        assert statuses["ok"] + statuses["due_soon"] > len(pumps) * 0.6
        # The SQL status agrees with the Python engine on every pump.
        assert all(status_on(p, today) == p.status_now for p in pumps)

        # Booking: booked on time, booked late and unbooked among the due-soon pumps.
        due_soon = Counter(p.booking for p in pumps if p.status_now == "due_soon")
        assert due_soon["booked"] >= 1 and due_soon["late"] >= 1 and due_soon["unbooked"] >= 1
        late = [p for p in pumps if p.booking == "late"]
        assert late
        for pump in late:
            dates = list(
                pump.appointments.filter(kind="refill", status="scheduled").values_list("local_date", flat=True)
            )
            assert dates and min(dates) > pump.refill_due
        # Unbooked overdue or due-soon patients who opted in: the "refill needed" reminder has work.
        assert any(
            p.booking == "unbooked" and p.status_now in ("overdue", "due_soon") and p.patient.reminders_opt_in
            for p in pumps
        )

        # A refill awaits review: the latest of its pump, residual off by more than the threshold.
        flagged = list(Refill.objects.filter(pump__clinic=clinic, needs_review=True).select_related("pump"))
        assert flagged
        for refill in flagged:
            assert refill.pump.refills.order_by("-performed_on").first() == refill
            limit = Decimal(1) if refill.pump.reservoir_ml <= 20 else Decimal(2)
            assert abs(refill.volume_removed_ml - refill.expected_residual_ml) > limit
        assert Refill.objects.filter(pump__clinic=clinic, needs_review=False, reviewed_at__isnull=False).exists()

        # Replacement pipeline: an ERI soon, a SynchroMed past ERI with its stop date ahead,
        # estimated dates inside the window.
        urgent = [p for p in pumps if p.replacement_due <= today + timedelta(days=90)]
        assert any(p.eri_date and p.eri_date > today for p in urgent)
        past_eri = [p for p in urgent if p.eri_date and p.eri_date <= today]
        assert past_eri and all(p.model.code.startswith("synchromed") for p in past_eri)
        assert all(p.stop_date_after_eri > today for p in past_eri)
        assert past_eri[0].stop_date_on(today) == past_eri[0].stop_date_after_eri
        window = today + timedelta(days=clinic.replacement_window_days)
        assert sum(1 for p in pumps if p.replacement_estimated and p.replacement_due <= window) >= 2

        # Patients: about 40, invented, a few no longer followed, high-risk flags, manager, opt-in.
        patients = Patient.objects.filter(clinic=clinic, candidate__isnull=True)  # the candidates: issue 16
        assert 38 <= patients.count() <= 42
        assert all(p.mrn.startswith("DEMO") for p in patients)
        assert all(p.email == "" or p.email.endswith("@example.invalid") for p in patients)
        assert {"inactive", "transferred"} <= set(patients.values_list("status", flat=True))
        for flag in ("sci_t6_or_above", "communication_difficulty", "previous_withdrawal"):
            assert patients.filter(**{flag: True}).exists()
        assert any(p.patient.high_risk for p in pumps if p.status_now in ("empty", "alarming", "overdue"))
        assert patients.filter(manager__username="demo-manager").count() >= 5
        assert patients.filter(reminders_opt_in=True).exclude(email="").count() >= 5
        assert Pump.objects.filter(clinic=clinic, status="explanted").exists()

        # Pump models, program changes, partial fills, bolus allowances.
        assert {p.model.code for p in pumps} == {
            "synchromed-ii-20",
            "synchromed-ii-40",
            "prometra-ii-20",
            "prometra-ii-40",
        }
        assert ProgramChange.objects.filter(pump__clinic=clinic).count() >= 3
        refills = Refill.objects.filter(pump__clinic=clinic).select_related("pump")
        assert any(r.volume_after_ml < r.pump.reservoir_ml for r in refills)
        assert refills.filter(bolus_allowance_mcg__gt=0).exists()
        assert refills.filter(bridge_bolus_confirmed=True).exists()

        # History: an initial fill at implant and earlier refills; the latest sets the stored date.
        for pump in pumps:
            history = list(pump.refills.order_by("performed_on"))
            assert history[0].is_initial_fill and history[0].performed_on == pump.implant_date
            assert not any(r.is_initial_fill for r in history[1:])
            assert pump.last_refill_date == history[-1].performed_on
        assert sum(1 for p in pumps if p.refills.count() >= 3) > len(pumps) * 0.8

        # Appointments of every kind ahead, some in the coming week for opted-in patients.
        scheduled = Appointment.objects.filter(patient__clinic=clinic, status="scheduled")
        assert set(scheduled.values_list("kind", flat=True)) == {"refill", "review", "replacement", "implant"}
        assert scheduled.filter(
            local_date__gt=today, local_date__lte=today + timedelta(days=7), patient__reminders_opt_in=True
        ).exists()
        assert not scheduled.filter(local_date__lt=today).exists()
        assert Appointment.objects.filter(patient__clinic=clinic, status="completed", local_date__lt=today).exists()

        # The printed summary: counts, never names or doses.
        for status in ALL_STATUSES:
            assert f"  {status:<9} {statuses[status]:>3}" in output
        assert "awaiting review: " + str(len(flagged)) in output
        for patient in patients:
            assert patient.last_name not in output
        assert "mcg" not in output

    assert_within_form_rules(local_today)


def assert_within_form_rules(today):
    """What patients/forms.py and refills/forms.py would accept from a clinician."""
    for pump in Pump.objects.filter(clinic__slug="demo"):
        assert Decimal("0.5") <= pump.alarm_volume_ml <= Decimal("10")
        assert pump.alarm_volume_ml < pump.reservoir_ml
        assert pump.implant_date <= today
    for refill in Refill.objects.filter(pump__clinic__slug="demo").select_related("pump"):
        assert refill.concentration_mcg_ml in (500, 1000, 2000)
        assert not refill.compounded
        assert 20 <= refill.daily_dose_mcg <= 1200
        assert 0 <= refill.bolus_allowance_mcg <= 3000
        assert 0 < refill.volume_after_ml <= refill.pump.reservoir_ml
        assert refill.pump.implant_date <= refill.performed_on <= today
        if not refill.is_initial_fill:
            assert 0 <= refill.volume_removed_ml <= refill.pump.reservoir_ml
    for change in ProgramChange.objects.filter(pump__clinic__slug="demo"):
        assert change.performed_on <= today
        assert change.daily_dose_mcg is None or 20 <= change.daily_dose_mcg <= 1200


def test_demo_users_have_their_roles_and_the_documented_password(db):
    with time_machine.travel(SUMMER_EVENING, tick=False):
        seed()
    clinic = Clinic.objects.get(slug="demo")
    roles = {m.user.username: m.role for m in Membership.objects.filter(clinic=clinic).select_related("user")}
    assert roles == {"demo-admin": "admin", "demo-manager": "manager", "demo-staff": "staff"}
    request = RequestFactory().post("/accounts/login/")
    for username in roles:
        user = authenticate(request, username=username, password="demo-password-2026")
        assert user is not None and user.username == username
    admin = get_user_model().objects.get(username="demo-admin")
    assert admin.is_superuser and admin.is_staff
    assert not get_user_model().objects.filter(username__in=["demo-manager", "demo-staff"], is_staff=True).exists()
    # The logins scripts/run_dev.sh prints are the ones that exist.
    assert demo.PASSWORD == "demo-password-2026"


def test_check_only_then_seed_then_a_second_run_that_changes_nothing(db):
    with pytest.raises(CommandError, match="does not exist"):
        seed("--check-only")
    assert all(value == 0 for value in counts().values())  # --check-only wrote nothing
    with time_machine.travel(SUMMER_EVENING, tick=False):
        seed()
        before = counts()
        refills_before = set(Refill.objects.values_list("pump__serial_number", "performed_on"))
        assert "exists" in seed("--check-only")
        assert counts() == before
        output = seed()
    assert "already exists" in output.lower()
    assert counts() == before
    assert set(Refill.objects.values_list("pump__serial_number", "performed_on")) == refills_before
    assert before["clinics"] == 1 and before["users"] == 3 and before["memberships"] == 3


def refill_snapshot():
    return list(
        Refill.objects.order_by("pump__serial_number", "performed_on").values_list(
            "pump__serial_number", "performed_on", "volume_removed_ml", "daily_dose_mcg", "needs_review"
        )
    )


def test_reset_recreates_the_same_demo_on_the_same_day_and_a_fresh_one_later(db):
    with time_machine.travel(SUMMER_EVENING, tick=False):
        seed()
        first = Clinic.objects.get(slug="demo")
        before, snapshot = counts(), refill_snapshot()
        output = seed("--reset")
    assert "Deleted" in output and Clinic.objects.get(slug="demo").pk != first.pk
    assert counts() == before and refill_snapshot() == snapshot  # deterministic for a given day

    with time_machine.travel(SUMMER_EVENING + timedelta(days=45), tick=False):
        seed("--reset")
        clinic = Clinic.objects.get(slug="demo")
        statuses = Counter(p.status_now for p in caseload(clinic, clinic.today()))
    assert set(statuses) == set(ALL_STATUSES)
    after = counts()
    for key in ("clinics", "users", "memberships", "patients", "pumps"):
        assert after[key] == before[key], key  # same sizes, users reused
    # Nothing of the old clinic is left over.
    assert Refill.objects.exclude(pump__clinic=clinic).count() == 0
    assert Appointment.objects.exclude(patient__clinic=clinic).count() == 0


def test_plan_reaches_every_scenario_on_any_day(db):
    """The pure plan, over two years of days: every scenario lands in its status and booking."""
    specs = demo._model_specs()
    wanted = Counter((s.status, s.booking) for s in demo.SCENARIOS if s.patient_status == "active")
    start = date(2026, 1, 1)
    for offset in range(0, 731, 10):
        today = start + timedelta(days=offset)
        plan = demo.build_plan(today, specs)  # raises DemoPlanError when a scenario misses
        assert demo.expected_counts(plan) == wanted, today
        for patient in plan:
            for pump in patient.pumps:
                events = [r.performed_on for r in pump.refills] + [c.performed_on for c in pump.changes]
                assert all(pump.implant_date <= day <= today for day in events), (today, patient.mrn)
            assert all(a.local_date >= today for a in patient.appointments if a.status == "scheduled")
