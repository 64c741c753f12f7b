"""Property-based fuzzing of every POST form (issue 3, item 6 "Bad input").

Each example starts from a valid submission and replaces or drops a few fields with
hostile values: arbitrary unicode, NUL bytes, very long strings, huge and non-finite
numbers, negative volumes, dates far in the past or future and impossible dates. The
answer must be a validation message (a form error on a 200, or an error message with a
redirect) or a 4xx, never a 500; a rejected submission changes nothing in the database;
an accepted one leaves pages that still render. Each example runs in a savepoint that
is rolled back, so the examples do not depend on each other.
"""

from contextlib import contextmanager
from datetime import date

import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from clinic.models import Clinic, Membership
from patients.forms import PatientForm
from patients.models import Patient, Pump, PumpModel
from refills import schedule
from refills.models import Appointment, ProgramChange, Refill
from tests.dashboard_data import FROZEN, flagged_refill, pump_with_status
from tests.factories import AppointmentFactory

# Values that often break form handling: numbers a float or a database column cannot
# hold, non-finite decimals, NUL bytes, dates at the ends of the calendar (or not on it),
# very long text, and text that looks like markup, SQL or format strings.
SPECIAL_VALUES = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "20\x00",
    "1e30",
    "-1e30",
    "1E+30",
    "1" + "0" * 40,
    "-1" + "0" * 40,
    "9" * 100,
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "-0",
    "-0.00",
    "0",
    "-1",
    "-20",
    "-0.01",
    "0.001",
    "0.01",
    "1e-30",
    "99999999",
    "٢٠",
    "２０",
    "½",
    "1,5",
    "1_000",
    "0x10",
    "  20  ",
    "0001-01-01",
    "0001-01-02",
    "1899-12-31",
    "9999-12-31",
    "10000-01-01",
    "2026-02-30",
    "2026-13-01",
    "0000-00-00",
    "-2026-01-01",
    "31/12/2025",
    "12/31/99",
    "2026-04-01T10:00",
    "24:00",
    "23:59:60",
    "-1:00",
    "x" * 5000,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%s %(mrn)s {0}",
    "\\",
    "\u202e",
    "\ufeff",
    "😀" * 50,
    "\r\n",
    "on",
    "true",
    "false",
    "null",
]

NASTY = st.one_of(
    st.sampled_from(SPECIAL_VALUES),
    st.text(max_size=30),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.decimals().map(str),
    st.floats().map(str),
    st.dates().map(date.isoformat),
)
# A posted field: a hostile value, several values, or the field left out (None).
POSTED = st.one_of(NASTY, NASTY, NASTY, st.lists(NASTY, min_size=2, max_size=3), st.none())


def fuzz(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


FUZZ = fuzz(60)

TRACKED = [Clinic, Membership, get_user_model(), Patient, Pump, Refill, ProgramChange, Appointment, LogEntry]


def db_state() -> dict:
    """Every row of every model a form could write, audit trail included."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in TRACKED}


class _RollBack(Exception):
    pass


@contextmanager
def rolled_back():
    """Run one example in a savepoint and undo whatever it saved."""
    try:
        with transaction.atomic():
            yield
            raise _RollBack
    except _RollBack:
        pass


def edits(fields):
    """1-4 fields of a form replaced by hostile values (or left out)."""
    return st.dictionaries(st.sampled_from(fields), POSTED, min_size=1, max_size=4)


def apply(base: dict, changes: dict) -> dict:
    data = {**base, **changes}
    return {key: value for key, value in data.items() if value is not None}


def error_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level >= message_levels.ERROR]


def submit(client, url: str, data: dict, *, pages=()):
    """POST ``data``; assert a clean answer and all-or-nothing. Returns True if it was accepted."""
    before = db_state()
    client.cookies.pop("messages", None)  # only this request's messages count
    response = client.post(url, data)
    assert response.status_code < 500
    if response.status_code >= 400:
        accepted = False
    elif response.status_code == 302:
        accepted = not error_messages(response)
    else:
        assert response.status_code == 200
        accepted = False
        if data.get("action") != "preview":
            # A re-shown form names what is wrong: a field error, or an error message.
            html = response.content.decode()
            assert 'role="alert"' in html or error_messages(response), "a rejected form must say why"
    if currently_in_test_context():
        event("accepted" if accepted else f"rejected with {response.status_code}")
    if accepted:
        for page in pages:
            assert client.get(page).status_code == 200, f"{page} after saving {data!r}"
    else:
        assert db_state() == before, "a rejected submission must save nothing"
    return accepted


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def as_admin(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def pump(clinic, manager):
    """An active SynchroMed II 20 mL filled 10 days ago (2026-03-22); today is 2026-04-01."""
    return pump_with_status(clinic, schedule.OK, refill_ago=10, manager=manager, mrn="FUZZ1")


def patient_pages(patient):
    return [reverse("patient_detail", args=[patient.pk]), reverse("caseload")]


# --- add patient with implant --------------------------------------------------------

CREATE_DATA = {
    "patient-mrn": "MRN-NEW-1",
    "patient-first_name": "Grace",
    "patient-last_name": "Hopper",
    "patient-date_of_birth": "1966-12-09",
    "patient-email": "grace@example.invalid",
    "patient-phone": "0100 222 3333",
    "patient-manager": "",
    "patient-status": "active",
    "patient-notes": "",
    "pump-serial_number": "NGP9000001",
    "pump-implant_date": "2026-03-30",
    "pump-reservoir_ml": "",
    "pump-alarm_volume_ml": "",
    "pump-eri_date": "",
    "fill-performed_on": "2026-03-30",
    "fill-volume_added_ml": "20",
    "fill-volume_after_ml": "20",
    "fill-concentration_mcg_ml": "2000",
    "fill-daily_dose_mcg": "400",
    "fill-dosing_mode": "simple",
    "fill-bolus_allowance_mcg": "0",
    "fill-notes": "",
}
CREATE_FIELDS = [
    *CREATE_DATA,
    "pump-model",
    "patient-reminders_opt_in",
    "patient-sci_t6_or_above",
    "fill-compounded",
    "fill-confirm_unusual_dose",
    "fill-confirm_volume_difference",
    "fill-volume_removed_ml",
]


def create_data(**changes):
    model = str(PumpModel.objects.get(code="synchromed-ii-20").pk)
    return apply({**CREATE_DATA, "pump-model": model}, changes)


@FUZZ
@given(changes=edits(CREATE_FIELDS), confirm=st.booleans())
def test_patient_create_survives_bad_input(as_manager, clinic, changes, confirm):
    base = {"fill-confirm_unusual_dose": "on", "fill-compounded": "on"} if confirm else {}
    with rolled_back():
        if submit(as_manager, reverse("patient_create"), create_data(**{**base, **changes})):
            patient = Patient.objects.get(clinic=clinic)
            assert patient.pumps.get().refills.count() == 1
            for page in patient_pages(patient):
                assert as_manager.get(page).status_code == 200


def test_patient_create_good_data_is_accepted(as_manager, clinic):
    """The fuzz starts from a submission that saves, so its rejections are the fuzzed fields'."""
    assert submit(as_manager, reverse("patient_create"), create_data())
    assert Patient.objects.filter(clinic=clinic, mrn="MRN-NEW-1").exists()


@pytest.mark.parametrize(
    "changes",
    [
        # Implant and first fill on 0001-01-01 with less than the alarm volume: the alarm
        # date is the fill date, and refill due (alarm - 7 buffer days) fell off the
        # calendar: OverflowError, a 500, with the patient half saved in the transaction.
        {"pump-implant_date": "0001-01-01", "fill-performed_on": "0001-01-01", "fill-volume_after_ml": "1"},
        {"pump-implant_date": "0001-01-01", "fill-performed_on": "0001-01-05"},
    ],
)
def test_patient_create_dates_before_1900_are_field_errors(as_manager, changes):
    response = as_manager.post(reverse("patient_create"), create_data(**changes))
    assert response.status_code == 200
    assert response.context["pump_form"].errors["implant_date"] == ["Enter a date from Mon 1 Jan 1900 on."]
    assert Patient.objects.count() == 0 and Pump.objects.count() == 0


# --- edit patient, edit pump, explant --------------------------------------------------

PATIENT_FIELDS = list(PatientForm._meta.fields)


def patient_data(patient):
    return {
        "mrn": patient.mrn,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": "1980-05-17",
        "email": patient.email,
        "phone": patient.phone,
        "manager": str(patient.manager_id or ""),
        "status": "active",
        "notes": "",
    }


@FUZZ
@given(changes=edits(PATIENT_FIELDS))
def test_patient_edit_survives_bad_input(as_manager, pump, changes):
    patient = pump.patient
    with rolled_back():
        submit(
            as_manager,
            reverse("patient_edit", args=[patient.pk]),
            apply(patient_data(patient), changes),
            pages=patient_pages(patient),
        )


PUMP_FIELDS = ["model", "serial_number", "implant_date", "reservoir_ml", "alarm_volume_ml", "eri_date"]


def pump_data(pump):
    return {
        "model": str(pump.model_id),
        "serial_number": pump.serial_number,
        "implant_date": pump.implant_date.isoformat(),
        "reservoir_ml": str(pump.reservoir_ml),
        "alarm_volume_ml": str(pump.alarm_volume_ml),
        "eri_date": "",
    }


@FUZZ
@given(changes=edits(PUMP_FIELDS))
def test_pump_edit_survives_bad_input(as_manager, pump, changes):
    with rolled_back():
        if submit(
            as_manager,
            reverse("pump_edit", args=[pump.pk]),
            apply(pump_data(pump), changes),
            pages=patient_pages(pump.patient),
        ):
            saved = Pump.objects.get(pk=pump.pk)
            assert saved.implant_date <= min(saved.refills.values_list("performed_on", flat=True))


def test_pump_edit_refuses_an_implant_date_after_a_fill(as_manager, pump):
    before = db_state()
    response = as_manager.post(reverse("pump_edit", args=[pump.pk]), {**pump_data(pump), "implant_date": "2026-03-25"})
    assert response.status_code == 200
    assert response.context["form"].errors["implant_date"] == [
        "A fill is recorded on Sun 22 Mar 2026, before this implant date."
    ]
    assert db_state() == before


@FUZZ
@given(explant_date=POSTED)
def test_pump_explant_survives_bad_input(as_manager, pump, explant_date):
    with rolled_back():
        submit(
            as_manager,
            reverse("pump_explant", args=[pump.pk]),
            apply({}, {"explant_date": explant_date}),
            pages=patient_pages(pump.patient),
        )


# --- refill, program change --------------------------------------------------------------

REFILL_DATA = {
    "performed_on": "2026-04-01",
    "volume_removed_ml": "18",
    "volume_added_ml": "20",  # the reservoir is emptied, then filled: added = after (SPEC 4)
    "volume_after_ml": "20",
    "concentration_mcg_ml": "2000",
    "daily_dose_mcg": "400",
    "dosing_mode": "simple",
    "bolus_allowance_mcg": "0",
    "notes": "",
    "action": "save",
}
REFILL_FIELDS = [
    *REFILL_DATA,
    "compounded",
    "confirm_unusual_dose",
    "bridge_bolus_confirmed",
    "confirm_volume_difference",
]


@FUZZ
@given(changes=edits(REFILL_FIELDS), confirm=st.booleans())
def test_refill_create_survives_bad_input(as_manager, pump, changes, confirm):
    base = (
        {
            "confirm_unusual_dose": "on",
            "compounded": "on",
            "bridge_bolus_confirmed": "on",
            "confirm_volume_difference": "on",
        }
        if confirm
        else {}
    )
    with rolled_back():
        submit(
            as_manager,
            reverse("refill_create", args=[pump.pk]),
            apply({**REFILL_DATA, **base}, changes),
            pages=patient_pages(pump.patient),
        )


PROGRAM_DATA = {
    "performed_on": "2026-04-01",
    "daily_dose_mcg": "500",
    "bolus_allowance_mcg": "0",
    "dosing_mode": "simple",
    "notes": "",
    "action": "save",
}


@FUZZ
@given(changes=edits([*PROGRAM_DATA, "confirm_unusual_dose"]), confirm=st.booleans())
def test_program_change_survives_bad_input(as_manager, pump, changes, confirm):
    base = {"confirm_unusual_dose": "on"} if confirm else {}
    with rolled_back():
        submit(
            as_manager,
            reverse("program_change_create", args=[pump.pk]),
            apply({**PROGRAM_DATA, **base}, changes),
            pages=patient_pages(pump.patient),
        )


# --- appointments ------------------------------------------------------------------------

APPOINTMENT_FIELDS = ["kind", "local_date", "local_time", "assigned_to", "notes"]


def appointment_data(manager):
    return {
        "kind": "refill",
        "local_date": "2026-04-20",
        "local_time": "10:00",
        "assigned_to": str(manager.pk),
        "notes": "",
    }


@FUZZ
@given(changes=edits(APPOINTMENT_FIELDS))
def test_appointment_create_survives_bad_input(as_manager, manager, pump, changes):
    with rolled_back():
        submit(
            as_manager,
            reverse("appointment_create", args=[pump.patient.pk]),
            apply(appointment_data(manager), changes),
            pages=[*patient_pages(pump.patient), reverse("appointments")],
        )


@FUZZ
@given(changes=edits(APPOINTMENT_FIELDS))
def test_appointment_edit_survives_bad_input(as_manager, manager, pump, changes):
    booked = AppointmentFactory(patient=pump.patient, pump=pump, local_date=date(2026, 4, 15))
    with rolled_back():
        submit(
            as_manager,
            reverse("appointment_edit", args=[booked.pk]),
            apply(appointment_data(manager), changes),
            pages=[*patient_pages(pump.patient), reverse("appointments")],
        )


# --- review acknowledgement ------------------------------------------------------------------


@pytest.fixture
def flagged(clinic, manager):
    return flagged_refill(clinic, mrn="FLAG1", manager=manager)


@FUZZ
@given(note=POSTED)
def test_refill_acknowledge_survives_bad_input(as_manager, flagged, note):
    with rolled_back():
        accepted = submit(
            as_manager, reverse("refill_acknowledge", args=[flagged.pk]), apply({}, {"note": note}), pages=["/review/"]
        )
        assert accepted == (not Refill.objects.get(pk=flagged.pk).needs_review)


def test_refill_acknowledge_refuses_a_nul_byte(as_manager, flagged):
    response = as_manager.post(reverse("refill_acknowledge", args=[flagged.pk]), {"note": "checked\x00"})
    assert response.status_code == 302 and error_messages(response)
    assert Refill.objects.get(pk=flagged.pk).needs_review


# --- clinic settings, members ----------------------------------------------------------------

SETTINGS_DATA = {
    "name": "North Pump Clinic",
    "phone": "0100 000 0000",
    "email": "",
    "time_zone": "Europe/London",
    "buffer_days": "7",
    "due_soon_days": "14",
    "replacement_window_days": "180",
    "reminders_enabled": "on",
    "digest_hour": "7",
    "appointment_reminder_lead_days": "7, 1",
    "working_days": ["0", "1", "2", "3", "4"],
    "screening_target_days": "42",
    "escalation_delay_hours": "2",
}
SETTINGS_FIELDS = [*SETTINGS_DATA, "require_two_factor"]


@fuzz(25)  # the settings page lists every time zone: slow to render
@given(changes=edits(SETTINGS_FIELDS))
def test_clinic_settings_survive_bad_input(as_admin, clinic, pump, changes):
    with rolled_back():
        accepted = submit(as_admin, reverse("clinic_settings"), apply(SETTINGS_DATA, changes))
        # With two-factor now required, the pages first ask the admin to set it up.
        if accepted and not Clinic.objects.get(pk=clinic.pk).require_two_factor:
            for page in patient_pages(pump.patient):
                assert as_admin.get(page).status_code == 200


INVITE_DATA = {"email": "new.nurse@example.invalid", "first_name": "New", "last_name": "Nurse", "role": "staff"}

EMAILS = st.one_of(
    NASTY,
    st.emails().map(str),
    # Valid addresses of 131, 194, 257 and 320 characters: the username they become holds 150.
    st.integers(min_value=1, max_value=4).map(lambda labels: "a" * 60 + "@" + ("b" * 62 + ".") * labels + "example"),
)


@FUZZ
@given(changes=edits(list(INVITE_DATA)), email=EMAILS)
def test_members_invite_survives_bad_input(as_admin, changes, email):
    with rolled_back():
        submit(
            as_admin, reverse("members"), apply({**INVITE_DATA, "email": email}, changes), pages=[reverse("members")]
        )


def test_members_invite_refuses_an_email_longer_than_a_username(as_admin):
    # Valid as an address (under 320 characters) but longer than the 150-character
    # username it becomes: PostgreSQL refused the insert with a DataError (a 500).
    email = "a" * 60 + "@" + "b" * 62 + "." + "c" * 62 + ".example"
    before = db_state()
    response = as_admin.post(reverse("members"), {**INVITE_DATA, "email": email})
    assert response.status_code == 200
    assert "at most 150 characters" in response.context["form"].errors["email"][0]
    assert db_state() == before
