"""The one synthetic-data plan: every invented person, number and date of the demo clinic
(``manage.py seed_demo``) and of the benchmark's large caseloads (bench/seed.py).

Pure: no database. It decides who the invented patients are (names no family carries,
MRNs and serials with a DEMO / B<size>K prefix, phone numbers in Ofcom's drama range,
addresses at example.invalid), which pump models, concentrations, doses and bolus
allowances they have, when their fills were (relative to today, chosen through the
schedule engine so each pump has the status it should have today), their program
changes, statuses and appointments. Two writers read it:

- demo/seeder.py writes the small, hand-made demo caseload (``build_plan``: about 40
  scenarios) through the validation forms and the services;
- bench/seed.py writes 1,000 to 100,000 sampled pumps (``bulk_patient``, ``bulk_pump``,
  ``bulk_fills``, ``bulk_appointments``: the status, model and dose mixes below) with bulk
  inserts, and stores the engine's schedule columns itself.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal
from fractions import Fraction

from refills import schedule

SLUG = "demo"
CLINIC_NAME = "Demo Pump Clinic"
TIME_ZONE = "Europe/London"
CLINIC_PHONE = "020 7946 0000"  # Ofcom's range reserved for drama: never a real line
CLINIC_EMAIL = "pump-clinic@example.invalid"
PASSWORD = "demo-password-2026"  # noqa: S105 (a public demo login; scripts/run_dev.sh prints it)
SEED = 2026

ADMIN, MANAGER, STAFF = "demo-admin", "demo-manager", "demo-staff"
# username, membership role, first name, last name, Django superuser
USERS = (
    (ADMIN, "admin", "Avery", "Admin (demo)", True),
    (MANAGER, "manager", "Morgan", "Manager (demo)", False),
    (STAFF, "staff", "Sasha", "Staff (demo)", False),
)

BOOKED, LATE, UNBOOKED = schedule.BOOKED, schedule.BOOKED_LATE, schedule.UNBOOKED
EMPTY, ALARMING, OVERDUE = schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE
DUE_SOON, OK = schedule.DUE_SOON, schedule.OK
STATUSES = (EMPTY, ALARMING, OVERDUE, DUE_SOON, OK)

# Obviously invented names (both writers): ordinary first names, surnames no family carries.
FIRST_NAMES = [
    "Ada",
    "Ben",
    "Cara",
    "Dev",
    "Edie",
    "Finn",
    "Gita",
    "Hal",
    "Iris",
    "Jon",
    "Kemi",
    "Leo",
    "Mina",
    "Nico",
    "Ola",
    "Pip",
    "Quinn",
    "Rae",
    "Sol",
    "Tam",
    "Uma",
    "Vic",
    "Wren",
    "Xan",
    "Yara",
    "Zed",
    "Alba",
    "Bram",
    "Cleo",
    "Dara",
    "Elio",
    "Faye",
    "Gus",
    "Hana",
    "Ivo",
    "Juno",
    "Kit",
    "Lux",
    "Milo",
    "Nell",
]
LAST_NAMES = [
    "Example",
    "Sample",
    "Specimen",
    "Placeholder",
    "Fictional",
    "Madeup",
    "Notreal",
    "Pretend",
    "Imaginary",
    "Invented",
    "Synthetic",
    "Testcase",
    "Mockup",
    "Dummy",
    "Demoperson",
    "Prototype",
    "Sandbox",
    "Fixture",
    "Stubbs",
    "Loremipsum",
    "Dolorsit",
    "Foobar",
    "Quux",
    "Widget",
    "Gadget",
    "Nobody",
    "Anyone",
    "Someone",
    "Whoever",
    "Unknown",
    "Fakename",
    "Pseudonym",
    "Alias",
    "Facsimile",
    "Replica",
    "Simulacrum",
    "Hypothetical",
    "Notional",
    "Nominal",
    "Fakeley",
]

SLOTS = tuple(time(hour, minute) for hour in range(9, 16) for minute in (0, 30))  # appointment times
EMAIL_DOMAIN = "example.invalid"  # reserved: no mail ever leaves


def numbered(prefix: str, number: int, digits: int) -> str:
    """An invented MRN or serial number: DEMO0001, DEMO-NGP00001, B1K0000001, SN1K0000001."""
    return f"{prefix}{number:0{digits}d}"


def phone(number: int) -> str:
    """An invented mobile number in Ofcom's range reserved for drama: never a real line."""
    return f"07700 900{number % 1000:03d}"


MAX_LOOKBACK_DAYS = 400  # how far back a pump's last refill may be


@dataclass(frozen=True)
class ModelSpec:
    """What the plan needs to know about a pump model (from the PumpModel table)."""

    code: str
    reservoir_ml: Decimal
    alarm_volume_ml: Decimal
    service_life_months: int
    max_refill_interval_days: int


@dataclass(frozen=True)
class Settings:
    buffer_days: int = 7
    due_soon_days: int = 14
    replacement_window_days: int = 180


@dataclass(frozen=True)
class Change:
    """A program change ``days`` after the last refill."""

    days: int
    dose: int | None = None
    bolus: int | None = None


@dataclass(frozen=True)
class Scenario:
    """One invented patient: the state their pump should be in today."""

    status: str | None  # the pump's status today; None for a patient the clinic no longer follows
    model: str
    concentration: int
    dose: int
    bolus: int = 0
    mode: str = "simple"
    fill: Decimal | None = None  # a partial fill (volume after refill); None = full reservoir
    alarm: Decimal | None = None  # a per-pump low-reservoir alarm volume
    booking: str = UNBOOKED
    change: Change | None = None  # a program change in the current fill cycle
    replacement: str | None = None  # eri_soon, eri_reached, estimated_urgent, estimated_planned
    discrepancy: Decimal | None = None  # residual discrepancy at the last refill (flags a review)
    flags: tuple[str, ...] = ()
    patient_status: str = "active"
    opt_in: bool | None = None  # None: every third patient
    manager: str | None = "auto"
    new_implant: bool = False  # the implant's first fill is the only fill so far
    replaced_pump: bool = False  # an earlier pump was explanted when this one went in
    first_concentration: int | None = None  # concentration of the first fill at implant
    history_concentration: int | None = None  # concentration before the last refill
    acknowledged_discrepancy: bool = False  # an earlier flagged refill a manager reviewed
    review: bool = False  # a review visit in a week
    no_show: bool = False
    cancelled: bool = False


SCENARIOS = (
    # Empty and alarming: the emergencies at the top of the caseload.
    Scenario(
        EMPTY,
        "synchromed-ii-20",
        2000,
        400,
        flags=("previous_withdrawal", "communication_difficulty"),
        opt_in=True,
        manager=MANAGER,
    ),
    Scenario(EMPTY, "prometra-ii-20", 1000, 250, flags=("sci_t6_or_above",), opt_in=False),
    Scenario(EMPTY, "synchromed-ii-40", 2000, 700, bolus=100, mode="flex", booking=LATE, opt_in=True),
    Scenario(ALARMING, "synchromed-ii-20", 1000, 300, alarm=Decimal("3.0"), flags=("sci_t6_or_above",)),
    Scenario(ALARMING, "prometra-ii-40", 2000, 800, change=Change(28, dose=950), manager=MANAGER),
    Scenario(ALARMING, "synchromed-ii-20", 2000, 500, booking=LATE, opt_in=True),
    # Overdue.
    Scenario(OVERDUE, "synchromed-ii-40", 500, 150, opt_in=True, no_show=True),
    Scenario(OVERDUE, "prometra-ii-40", 2000, 120, booking=LATE, opt_in=True),
    Scenario(OVERDUE, "synchromed-ii-20", 1000, 220, flags=("previous_withdrawal",), manager=MANAGER),
    Scenario(OVERDUE, "prometra-ii-20", 2000, 450, fill=Decimal("15.0")),
    # Due soon: booked, booked late and not booked.
    Scenario(DUE_SOON, "synchromed-ii-20", 2000, 350, booking=BOOKED, opt_in=True),
    Scenario(
        DUE_SOON, "prometra-ii-20", 1000, 180, booking=BOOKED, change=Change(21, dose=200), review=True, opt_in=True
    ),
    Scenario(DUE_SOON, "synchromed-ii-40", 1000, 275, booking=LATE, flags=("communication_difficulty",), opt_in=True),
    Scenario(DUE_SOON, "synchromed-ii-20", 2000, 600, opt_in=True, cancelled=True),
    Scenario(DUE_SOON, "prometra-ii-40", 2000, 500, flags=("sci_t6_or_above",)),
    Scenario(DUE_SOON, "synchromed-ii-40", 2000, 900, bolus=150, mode="flex", booking=BOOKED),
    Scenario(DUE_SOON, "synchromed-ii-20", 500, 90, replacement="eri_soon", booking=BOOKED, opt_in=True),
    Scenario(DUE_SOON, "prometra-ii-20", 2000, 320, history_concentration=1000),
    # OK: most of a real caseload.
    Scenario(
        OK,
        "synchromed-ii-20",
        2000,
        420,
        discrepancy=Decimal("2.4"),
        flags=("previous_withdrawal",),
        manager=MANAGER,
        review=True,
    ),
    Scenario(OK, "synchromed-ii-40", 2000, 650, discrepancy=Decimal("-3.0")),
    Scenario(OK, "synchromed-ii-20", 1000, 200, replacement="eri_reached", opt_in=True),
    Scenario(OK, "synchromed-ii-40", 2000, 300, replacement="estimated_urgent"),
    Scenario(OK, "synchromed-ii-20", 2000, 380, replacement="estimated_planned"),
    Scenario(OK, "prometra-ii-40", 2000, 240, replacement="estimated_planned"),
    Scenario(OK, "prometra-ii-20", 2000, 300, booking=BOOKED, opt_in=True),
    Scenario(OK, "synchromed-ii-20", 500, 100, new_implant=True, manager=MANAGER),
    Scenario(OK, "synchromed-ii-40", 1000, 350, replaced_pump=True),
    Scenario(OK, "prometra-ii-40", 2000, 600, bolus=60, mode="flex", change=Change(14, bolus=100)),
    Scenario(OK, "synchromed-ii-20", 2000, 450, fill=Decimal("16.0"), acknowledged_discrepancy=True),
    Scenario(OK, "prometra-ii-20", 1000, 150, first_concentration=500, booking=BOOKED),
    Scenario(OK, "synchromed-ii-40", 2000, 520, change=Change(30, dose=480), review=True, opt_in=True),
    Scenario(OK, "synchromed-ii-20", 2000, 330, alarm=Decimal("4.0"), flags=("communication_difficulty",)),
    Scenario(OK, "prometra-ii-40", 1000, 400),
    Scenario(OK, "synchromed-ii-20", 1000, 160, fill=Decimal("18.0")),
    Scenario(OK, "synchromed-ii-40", 2000, 1000, bolus=100, mode="flex"),
    Scenario(OK, "prometra-ii-20", 2000, 280),
    Scenario(OK, "synchromed-ii-20", 500, 60, first_concentration=500),
    # Patients the clinic no longer follows: excluded from the caseload.
    Scenario(None, "synchromed-ii-20", 2000, 300, patient_status="transferred"),
    Scenario(None, "prometra-ii-40", 2000, 400, patient_status="transferred"),
    Scenario(None, "synchromed-ii-20", 1000, 200, patient_status="inactive"),
)


# -- The plan: plain data ------------------------------------------------------------


@dataclass
class RefillPlan:
    performed_on: date
    volume_after_ml: Decimal
    concentration: int
    dose: int
    bolus: int = 0
    mode: str = "simple"
    volume_removed_ml: Decimal | None = None
    initial: bool = False
    bridge_bolus: bool = False
    notes: str = ""
    review_note: str = ""  # set: a flagged refill a manager has acknowledged

    @property
    def rate(self) -> Fraction:
        return schedule.planning_rate(self.dose, self.bolus, self.concentration)


@dataclass
class ChangePlan:
    performed_on: date
    dose: int | None = None
    bolus: int | None = None
    notes: str = ""


@dataclass
class AppointmentPlan:
    kind: str
    local_date: date
    local_time: time
    status: str = "scheduled"
    assigned_to: str | None = MANAGER
    notes: str = ""


@dataclass
class PumpPlan:
    model: str
    serial_number: str
    implant_date: date
    reservoir_ml: Decimal
    alarm_volume_ml: Decimal
    custom_alarm: bool = False
    eri_date: date | None = None
    explant_date: date | None = None
    refills: list[RefillPlan] = field(default_factory=list)
    changes: list[ChangePlan] = field(default_factory=list)


@dataclass
class PatientPlan:
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: date
    email: str
    phone: str
    reminders_opt_in: bool
    manager: str | None
    status: str
    sci_t6_or_above: bool
    communication_difficulty: bool
    previous_withdrawal: bool
    notes: str
    pumps: list[PumpPlan]  # the last one is implanted now
    appointments: list[AppointmentPlan]
    expected_status: str | None  # for active patients: the pump's status today
    expected_booking: str | None
    replacement: str | None

    @property
    def pump(self) -> PumpPlan:
        return self.pumps[-1]


class DemoPlanError(RuntimeError):
    """The plan cannot reach a scenario's state (a bug in the scenarios, not in the data)."""


# -- Schedule helpers (the engine on plan data: schedule.fill_cycle, as refills.services) ---


def cycle_of(refill: RefillPlan, changes: list[ChangePlan], before: date | None = None) -> schedule.FillCycle:
    """The fill cycle a planned refill starts, with the program changes after it (before ``before``)."""
    return schedule.fill_cycle(
        refill.performed_on,
        refill.volume_after_ml,
        refill.concentration,
        refill.dose,
        refill.bolus,
        [(c.performed_on, c.dose, c.bolus) for c in changes if before is None or c.performed_on < before],
    )


def cycle_schedule(
    cycle: schedule.FillCycle, alarm_ml: Decimal, max_refill_interval_days: int, settings: Settings
) -> schedule.PumpSchedule:
    """The engine's schedule of a fill cycle with a clinic's settings (both writers)."""
    return schedule.pump_schedule(
        cycle, alarm_ml, settings.buffer_days, max_refill_interval_days, settings.due_soon_days
    )


def pump_schedule(pump: PumpPlan, spec: ModelSpec, settings: Settings) -> schedule.PumpSchedule:
    """The schedule of a planned pump's current fill cycle."""
    return cycle_schedule(
        cycle_of(pump.refills[-1], pump.changes), pump.alarm_volume_ml, spec.max_refill_interval_days, settings
    )


def status_of(sched: schedule.PumpSchedule, today: date) -> str:
    return schedule.pump_status(today, sched.empty_date, sched.alarm_date, sched.refill_due, sched.due_soon_from)


def booking_of(patient: PatientPlan, refill_due: date) -> str:
    return schedule.booking_state(
        refill_due, [a.local_date for a in patient.appointments if a.kind == "refill" and a.status == "scheduled"]
    )


def days_until_due(refill: RefillPlan, alarm_ml: Decimal, spec: ModelSpec, settings: Settings) -> int:
    """How many days after this refill its cycle is due (no program changes)."""
    cycle = schedule.FillCycle.build(refill.performed_on, refill.volume_after_ml, refill.rate)
    result = cycle_schedule(cycle, alarm_ml, spec.max_refill_interval_days, settings)
    return (result.refill_due - refill.performed_on).days


def round5(value) -> int:
    return int(5 * round(Fraction(value) / 5))


def weekday_between(rng: random.Random, first: date, last: date) -> date:
    """A random working day in [first, last], or any day there if none is a weekday."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    if not days:
        raise DemoPlanError(f"empty date range {first}..{last}")
    weekdays = [day for day in days if day.weekday() < 5]
    return rng.choice(weekdays or days)


def weekday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)


# -- Building the plan ---------------------------------------------------------------


class _Builder:
    def __init__(self, today: date, specs: dict[str, ModelSpec], settings: Settings, rng: random.Random):
        self.today = today
        self.specs = specs
        self.settings = settings
        self.rng = rng
        self.serials = 0

    def days(self, n: int) -> date:
        return self.today + timedelta(days=n)

    def serial(self, model: str) -> str:
        self.serials += 1
        prefix = "NGP" if model.startswith("synchromed") else "PII"
        return numbered(f"DEMO-{prefix}", self.serials, 5)

    # Programs ---------------------------------------------------------------------

    def latest_refill(self, s: Scenario, spec: ModelSpec, day: date) -> RefillPlan:
        return RefillPlan(
            performed_on=day,
            volume_after_ml=s.fill or spec.reservoir_ml,
            concentration=s.concentration,
            dose=s.dose,
            bolus=s.bolus,
            mode=s.mode,
        )

    def initial_refill(self, s: Scenario, spec: ModelSpec, alarm: Decimal, day: date) -> RefillPlan:
        """The first fill at implant: a starting dose, often at a lower concentration."""
        concentration = s.first_concentration or s.history_concentration or s.concentration
        dose = max(min(50, s.dose), round5(s.dose * Fraction(3, 5)))
        refill = RefillPlan(day, spec.reservoir_ml, concentration, dose, initial=True, notes="First fill at implant.")
        if days_until_due(refill, alarm, spec, self.settings) < 40:
            refill.concentration = s.concentration
        return refill

    def history_refill(self, s: Scenario, spec: ModelSpec, back: int, floor_dose: int, day: date) -> RefillPlan:
        """The refill ``back`` cycles before the last one: a dose titrated up over time."""
        step = max(5, round5(s.dose * Fraction(3, 100)))
        return RefillPlan(
            performed_on=day,
            volume_after_ml=s.fill or spec.reservoir_ml,
            concentration=s.history_concentration or s.concentration,
            dose=max(floor_dose, s.dose - step * back),
            bolus=s.bolus,
            mode=s.mode,
        )

    # Dates ------------------------------------------------------------------------

    def implant_for_replacement(self, s: Scenario, spec: ModelSpec) -> tuple[date, date | None]:
        """Implant date (and ERI date) that put the pump in the replacement pipeline."""
        rng = self.rng
        if s.replacement == "eri_soon":
            eri = self.days(rng.randint(25, 80))
            return weekday_on_or_after(schedule.add_months(eri, -rng.randint(74, 82))), eri
        if s.replacement == "eri_reached":
            eri = self.days(-rng.randint(10, 40))
            return weekday_on_or_after(schedule.add_months(eri, -rng.randint(74, 82))), eri
        wanted = {"estimated_urgent": (20, 85), "estimated_planned": (100, 175)}[s.replacement]
        state = "urgent" if s.replacement == "estimated_urgent" else "planned"
        offsets = list(range(*wanted))
        rng.shuffle(offsets)
        implants = [schedule.add_months(self.days(offset), -spec.service_life_months) for offset in offsets]
        for implant in sorted(implants, key=lambda day: day.weekday() >= 5):  # weekdays first, order kept
            due = schedule.replacement_due(implant, spec.service_life_months, None)
            if schedule.replacement_state(self.today, due.due, self.settings.replacement_window_days) == state:
                return implant, None
        raise DemoPlanError(f"no implant date puts the pump in the '{state}' replacement window")

    def acceptable(self, s: Scenario, sched: schedule.PumpSchedule) -> bool:
        """The scenario's status today, within realistic bounds.

        Never on a boundary day: the pump has the same status yesterday and tomorrow,
        so the demo reads unambiguously (and survives a day-boundary off-by-one).
        """
        if any(status_of(sched, self.today + timedelta(days=n)) != s.status for n in (-1, 0, 1)):
            return False
        to_due = (sched.refill_due - self.today).days
        if s.status == OK:
            return to_due <= (30 if s.booking == BOOKED else 120)
        if s.status == DUE_SOON and s.booking == BOOKED:
            return to_due >= 1
        if s.status == OVERDUE:
            return to_due >= -30
        if s.status == EMPTY:
            return (self.today - sched.empty_date).days <= 14
        return True

    def cycle_plan(self, s: Scenario, spec: ModelSpec, day: date) -> tuple[RefillPlan, list[ChangePlan]]:
        """The last refill on ``day`` and the scenario's program change after it."""
        changes = []
        if s.change is not None:
            change_on = day + timedelta(days=s.change.days)
            changes = [ChangePlan(change_on, s.change.dose, s.change.bolus, notes="Program adjusted at review.")]
        return self.latest_refill(s, spec, day), changes

    def candidate_days(self, s: Scenario, pump: PumpPlan, spec: ModelSpec, days: list[date]) -> list[date]:
        """Those of ``days`` on which a last refill gives the scenario's status today.

        A fill cycle's dates move with its refill date, so one schedule computed for a
        refill today, shifted, gives every candidate's.
        """
        trial = PumpPlan(pump.model, pump.serial_number, pump.implant_date, pump.reservoir_ml, pump.alarm_volume_ml)
        refill, trial.changes = self.cycle_plan(s, spec, self.today)
        trial.refills = [refill]
        base = pump_schedule(trial, spec, self.settings)
        found = []
        for day in days:
            if s.change is not None and day + timedelta(days=s.change.days) > self.today:
                continue  # the program change would be in the future
            shift = day - self.today
            shifted = schedule.PumpSchedule(
                base.alarm_date + shift, base.empty_date + shift, base.refill_due + shift, base.due_soon_from + shift
            )
            if s.status is None or self.acceptable(s, shifted):
                found.append(day)
        return found

    def choose_last_refill(
        self, s: Scenario, pump: PumpPlan, spec: ModelSpec, earliest: date
    ) -> tuple[RefillPlan, list[ChangePlan]]:
        """Search the last refill date (and its program change) giving the wanted status."""
        days = [self.days(-back) for back in range(MAX_LOOKBACK_DAYS) if self.days(-back) >= earliest]
        found = self.candidate_days(s, pump, spec, days)
        if not found:
            raise DemoPlanError(f"no last refill date gives status {s.status} for a {s.model} scenario")
        on_weekdays = [day for day in found if day.weekday() < 5]
        return self.cycle_plan(s, spec, self.rng.choice(on_weekdays or found))

    def fill_history(self, s: Scenario, pump: PumpPlan, spec: ModelSpec, latest: RefillPlan) -> list[RefillPlan]:
        """The first fill at implant and every refill since, each on time, back from ``latest``."""
        rng, settings = self.rng, self.settings
        implant = pump.implant_date
        first = self.initial_refill(s, spec, pump.alarm_volume_ml, implant)
        first_cycle = days_until_due(first, pump.alarm_volume_ml, spec, settings)
        refills = [latest]
        following = latest.performed_on
        back = 1
        while (following - implant).days > first_cycle:
            refill = self.history_refill(s, spec, back, first.dose, following)
            gap = days_until_due(refill, pump.alarm_volume_ml, spec, settings) - rng.randint(0, 10)
            day = weekday_on_or_after(following - timedelta(days=gap))
            if (day - implant).days < 30:
                day = weekday_on_or_after(implant + timedelta(days=(following - implant).days // 2))
            refill.performed_on = day
            refills.insert(0, refill)
            following = day
            back += 1
        refills.insert(0, first)
        return refills

    def residuals(self, s: Scenario, pump: PumpPlan) -> None:
        """Volumes removed: the projected residual give or take a little, except where flagged."""
        refills = pump.refills
        reservoir = pump.reservoir_ml
        acknowledged = len(refills) - 3 if s.acknowledged_discrepancy and len(refills) >= 4 else None
        for index in range(1, len(refills)):
            refill, previous = refills[index], refills[index - 1]
            expected = schedule.expected_residual(
                cycle_of(previous, pump.changes, before=refill.performed_on), refill.performed_on
            )
            if index == len(refills) - 1 and s.discrepancy is not None:
                offset = Fraction(s.discrepancy)
                if expected + offset < 0:
                    offset = -offset
                refill.notes = "Residual differs from the projection: review requested."
            elif index == acknowledged:
                offset = Fraction(-3, 2) if reservoir <= 20 else Fraction(-5, 2)
                refill.notes = "Less left than projected."
                refill.review_note = "Pocket fill excluded on ultrasound; technique reviewed. No change."
            else:
                offset = Fraction(self.rng.randint(-4, 4), 10)
            removed = schedule.to_decimal(expected + offset, 1)
            removed = min(max(removed, Decimal("0.0")), reservoir)
            refill.volume_removed_ml = removed
            flagged = schedule.discrepancy_flagged(schedule.residual_discrepancy(removed, expected), reservoir)
            if flagged != (index == len(refills) - 1 and s.discrepancy is not None or index == acknowledged):
                raise DemoPlanError("a residual came out flagged where it should not, or the reverse")
            refill.bridge_bolus = refill.concentration != previous.concentration

    def appointments(self, s: Scenario, patient: PatientPlan, sched: schedule.PumpSchedule | None) -> None:
        rng, today = self.rng, self.today
        pump = patient.pump
        assignee = patient.manager or MANAGER
        slot = lambda: rng.choice(SLOTS)  # noqa: E731
        visits = patient.appointments
        if sched is not None:
            due = sched.refill_due
            if s.booking == BOOKED:
                if s.status == DUE_SOON:
                    day = weekday_between(rng, self.days(1), min(due, self.days(6)))
                else:
                    day = weekday_between(rng, max(self.days(1), due - timedelta(days=14)), due)
                visits.append(AppointmentPlan("refill", day, slot(), assigned_to=assignee))
            elif s.booking == LATE:
                if s.status in (EMPTY, ALARMING, OVERDUE):
                    day = self.days(1)  # booked for tomorrow: after refill due, so late
                else:
                    start = max(self.days(1), due + timedelta(days=3))
                    day = weekday_between(rng, start, start + timedelta(days=7))
                visits.append(AppointmentPlan("refill", day, slot(), assigned_to=assignee))
            if s.no_show:
                missed = max(pump.refills[-1].performed_on + timedelta(days=1), due - timedelta(days=2))
                if missed < today:
                    visits.append(AppointmentPlan("refill", missed, slot(), status="no_show", assigned_to=assignee))
            if s.cancelled:
                day = max(self.days(1), due - timedelta(days=1))
                visits.append(
                    AppointmentPlan(
                        "refill", day, slot(), status="cancelled", assigned_to=assignee, notes="Patient cancelled."
                    )
                )
        if s.review:
            visits.append(AppointmentPlan("review", self.days(7), slot(), assigned_to=assignee, notes="Dose review."))
        if s.replacement in ("eri_soon", "eri_reached", "estimated_urgent"):
            day = weekday_between(rng, self.days(14), self.days(45))
            visits.append(AppointmentPlan("replacement", day, slot(), assigned_to=assignee, notes="Pump replacement."))
        # Visits that already happened: the last two refills of every other patient.
        if patient.status == "active" and int(patient.mrn[-2:]) % 2 == 0:
            for refill in pump.refills[-2:]:
                if not refill.initial:
                    visits.append(AppointmentPlan("refill", refill.performed_on, slot(), status="completed"))
        if s.replaced_pump:
            visits.append(
                AppointmentPlan("replacement", pump.implant_date, time(8, 30), status="completed", assigned_to=ADMIN)
            )

    def patient(self, number: int, s: Scenario, first_name: str, last_name: str) -> PatientPlan:
        rng, today = self.rng, self.today
        spec = self.specs[s.model]
        mrn = numbered("DEMO", number, 4)
        opt_in = s.opt_in if s.opt_in is not None else number % 3 == 0
        has_email = opt_in or number % 2 == 0
        manager = s.manager if s.manager != "auto" else (MANAGER, MANAGER, ADMIN, None)[number % 4]
        patient = PatientPlan(
            mrn=mrn,
            first_name=first_name,
            last_name=last_name,
            date_of_birth=date(rng.randint(1948, 2008), rng.randint(1, 12), rng.randint(1, 28)),
            email=f"{first_name}.{last_name}.{number}@{EMAIL_DOMAIN}".lower() if has_email else "",
            phone=phone(number),
            reminders_opt_in=opt_in,
            manager=manager,
            status=s.patient_status,
            sci_t6_or_above="sci_t6_or_above" in s.flags,
            communication_difficulty="communication_difficulty" in s.flags,
            previous_withdrawal="previous_withdrawal" in s.flags,
            notes="Invented demo record: not a real person.",
            pumps=[],
            appointments=[],
            expected_status=s.status if s.patient_status == "active" else None,
            expected_booking=None,
            replacement=s.replacement,
        )
        alarm = s.alarm or spec.alarm_volume_ml
        pump = PumpPlan(
            s.model, self.serial(s.model), today, spec.reservoir_ml, alarm, custom_alarm=s.alarm is not None
        )
        if s.replacement:
            pump.implant_date, pump.eri_date = self.implant_for_replacement(s, spec)
        if s.new_implant:
            pump.implant_date = self.new_implant_date(s, pump, spec)
            pump.refills = [self.initial_refill(s, spec, alarm, pump.implant_date)]
            pump.refills[0].concentration = s.concentration
            pump.refills[0].dose = s.dose
        else:
            if s.status is None:
                # Left the clinic's care months ago: the last refill here was then.
                last_seen = weekday_on_or_after(self.days(-rng.randint(150, 350)))
                latest, changes = self.latest_refill(s, spec, last_seen), []
                pump.implant_date = latest.performed_on - timedelta(days=rng.randint(300, 900))
            elif s.replacement:
                earliest = pump.implant_date + timedelta(days=60)
                latest, changes = self.choose_last_refill(s, pump, spec, earliest)
            else:
                latest, changes = self.choose_last_refill(s, pump, spec, self.days(-MAX_LOOKBACK_DAYS))
                years = timedelta(days=rng.randint(250, 1200))
                pump.implant_date = weekday_on_or_after(latest.performed_on - years)
            pump.changes = changes
            pump.refills = self.fill_history(s, pump, spec, latest)
            self.residuals(s, pump)
        if s.replaced_pump:
            old_model = "synchromed-ii-20"
            old = PumpPlan(
                old_model,
                self.serial(old_model),
                weekday_on_or_after(schedule.add_months(pump.implant_date, -80)),
                self.specs[old_model].reservoir_ml,
                self.specs[old_model].alarm_volume_ml,
                explant_date=pump.implant_date,
            )
            patient.pumps.append(old)
        patient.pumps.append(pump)
        sched = pump_schedule(pump, spec, self.settings) if patient.status == "active" else None
        self.appointments(s, patient, sched)
        if sched is not None:
            if status_of(sched, today) != s.status:
                raise DemoPlanError(f"{mrn}: planned {s.status}, computed {status_of(sched, today)}")
            patient.expected_booking = booking_of(patient, sched.refill_due)
            if patient.expected_booking != s.booking:
                raise DemoPlanError(f"{mrn}: planned booking {s.booking}, computed {patient.expected_booking}")
        return patient

    def new_implant_date(self, s: Scenario, pump: PumpPlan, spec: ModelSpec) -> date:
        found = self.candidate_days(s, pump, spec, [self.days(-back) for back in range(7, 60)])
        if not found:
            raise DemoPlanError("no implant date gives a new pump the wanted status")
        weekdays = [day for day in found if day.weekday() < 5]
        return self.rng.choice(weekdays or found)


def build_plan(
    today: date, specs: dict[str, ModelSpec], settings: Settings = Settings(), seed: int = SEED
) -> list[PatientPlan]:
    """The whole demo caseload for ``today``: deterministic for a given date and seed."""
    rng = random.Random(seed)
    builder = _Builder(today, specs, settings, rng)
    first_names, last_names = list(FIRST_NAMES), list(LAST_NAMES)
    rng.shuffle(first_names)
    rng.shuffle(last_names)
    return [
        builder.patient(number, scenario, first_names[number - 1], last_names[number - 1])
        for number, scenario in enumerate(SCENARIOS, start=1)
    ]


def expected_counts(plan: list[PatientPlan]) -> Counter:
    return Counter((p.expected_status, p.expected_booking) for p in plan if p.expected_status is not None)


def clinic_settings(clinic) -> Settings:
    """A clinic's schedule settings (a Clinic row or anything with those attributes)."""
    return Settings(clinic.buffer_days, clinic.due_soon_days, clinic.replacement_window_days)


# -- The benchmark's large caseloads: sampled, not hand-made ---------------------------

# Status mix of a large caseload on the day of the run.
STATUS_WEIGHTS = {
    schedule.OK: 68,
    schedule.DUE_SOON: 16,
    schedule.OVERDUE: 9,
    schedule.ALARMING: 3,
    schedule.EMPTY: 1,
    schedule.NO_FILL: 1,
}
MODEL_WEIGHTS = {
    "synchromed-ii-20": 30,
    "synchromed-ii-40": 36,
    "prometra-ii-20": 12,
    "prometra-ii-40": 16,
    "other": 6,
}
PATIENT_STATUS_WEIGHTS = {"active": 95, "inactive": 2, "deceased": 2, "transferred": 1}
CONCENTRATION_WEIGHTS = {500: 10, 1000: 30, 2000: 60}  # mcg/mL
DEFAULT_ALARM_ML = Decimal("2.5")  # a pump model without its own alarm volume ("other")


def pick(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def bulk_prefix(size: int) -> str:
    """The MRN and serial prefix of a caseload of ``size`` pumps: B1K, B100K."""
    return f"B{size // 1000}K"


def bulk_patient(rng: random.Random, n: int, size: int, slug: str, managers: int) -> dict:
    """Patient ``n`` of a large caseload: its fields, ``manager`` an index into the clinic's
    ``managers`` pump managers (or None)."""
    has_email = rng.random() < 0.6
    flags = [rng.random() < 0.08, rng.random() < 0.06, rng.random() < 0.05]
    return {
        "mrn": numbered(bulk_prefix(size), n, 7),
        "first_name": rng.choice(FIRST_NAMES),
        "last_name": rng.choice(LAST_NAMES),
        "date_of_birth": date(1940, 1, 1) + timedelta(days=rng.randrange(0, 25000)),
        "email": f"patient{n}@{slug}.{EMAIL_DOMAIN}" if has_email else "",
        "phone": phone(n),
        "reminders_opt_in": has_email and rng.random() < 0.6,
        "manager": rng.randrange(managers) if rng.random() < 0.85 else None,
        "status": pick(rng, PATIENT_STATUS_WEIGHTS),
        "sci_t6_or_above": flags[0],
        "communication_difficulty": flags[1],
        "previous_withdrawal": flags[2],
    }


def bulk_pump(rng: random.Random, n: int, size: int, today: date, model, patient_status: str) -> dict:
    """Pump ``n`` of a large caseload, of ``model`` (a PumpModel: reservoir and alarm volumes)."""
    reservoir = model.reservoir_ml or Decimal(rng.choice([20, 40]))
    alarm = model.alarm_volume_ml or DEFAULT_ALARM_ML
    if rng.random() < 0.1:
        alarm += Decimal(1)  # some patients need an earlier alarm
    implant = today - timedelta(days=rng.randrange(120, 3300))
    eri = None
    if model.code == "other" or rng.random() < 0.1:
        eri = implant + timedelta(days=rng.randrange(1500, 2800))
    explanted = patient_status != "active" and rng.random() < 0.5
    return {
        "serial_number": numbered(f"SN{bulk_prefix(size)}", n, 7),
        "implant_date": implant,
        "reservoir_ml": reservoir,
        "alarm_volume_ml": alarm,
        "eri_date": eri,
        "explanted": explanted,
        "explant_date": today - timedelta(days=rng.randrange(1, 100)) if explanted else None,
    }


def bulk_program(rng: random.Random, reservoir_ml: Decimal) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """Concentration, dose, bolus allowance and volume after refill of a pump's fills."""
    concentration = Decimal(pick(rng, CONCENTRATION_WEIGHTS))
    dose = Decimal(rng.randrange(50, 900, 5))
    bolus = Decimal(0) if rng.random() < 0.9 else Decimal(rng.randrange(20, 100, 10))
    volume = reservoir_ml if rng.random() < 0.85 else reservoir_ml - Decimal(rng.randrange(1, 4))
    return concentration, dose, bolus, volume


def schedule_offsets(result: schedule.PumpSchedule, refilled_on: date) -> dict:
    """The schedule's dates as days after the refill (a cycle's dates move with its refill)."""
    return {
        "alarm": (result.alarm_date - refilled_on).days,
        "empty": (result.empty_date - refilled_on).days,
        "due": (result.refill_due - refilled_on).days,
        "due_soon": (result.due_soon_from - refilled_on).days,
    }


def days_ago_for(rng: random.Random, status: str, off: dict) -> int | None:
    """How long ago the last refill was so that the pump has ``status`` today (None if impossible)."""
    ranges = {
        schedule.OK: (0, off["due_soon"] - 1),
        schedule.DUE_SOON: (max(off["due_soon"], 0), off["due"]),
        schedule.OVERDUE: (off["due"] + 1, off["alarm"] - 1),
        schedule.ALARMING: (off["alarm"], off["empty"] - 1),
        schedule.EMPTY: (off["empty"], off["empty"] + 40),
    }
    low, high = ranges[status]
    return rng.randint(low, high) if low <= high else None


def bulk_fills(rng: random.Random, settings: Settings, pump, model, status: str, today: date, history: int = 1):
    """The fills of a pump giving it ``status`` today, or None for a pump never filled.

    ``pump`` has ``reservoir_ml``, ``alarm_volume_ml`` and ``implant_date`` (moved earlier when
    the last refill would precede it); ``model`` its ``max_refill_interval_days``. Returns the
    fills and program changes (dicts by field name), the last refill date and the schedule's
    offsets from it (the engine's dates of the current cycle: ``last + offsets``).
    """
    if status == schedule.NO_FILL:
        return None
    concentration, dose, bolus, volume = bulk_program(rng, pump.reservoir_ml)
    change = None
    if rng.random() < 0.05:
        change = (rng.randrange(5, 40), dose + Decimal(25))
    base = date(2000, 1, 1)

    def offsets(with_change: bool) -> dict:
        changes = [(base + timedelta(days=change[0]), change[1], None)] if with_change else []
        cycle = schedule.fill_cycle(base, volume, concentration, dose, bolus, changes)
        return schedule_offsets(
            cycle_schedule(cycle, pump.alarm_volume_ml, model.max_refill_interval_days, settings), base
        )

    off = offsets(change is not None)
    ago = None
    for candidate in [status, schedule.OVERDUE, schedule.DUE_SOON, schedule.OK]:
        ago = days_ago_for(rng, candidate, off)
        if ago is not None:
            break
    if change and change[0] >= ago:
        # The program change would be in the future: drop it and recompute.
        change = None
        off = offsets(False)
        ago = min(ago, off["empty"] + 40)
    last = today - timedelta(days=ago)
    cycle_days = max(off["due"], 20)
    if last <= pump.implant_date:
        pump.implant_date = last - timedelta(days=cycle_days)
    # Earlier fills, each about one cycle before the next, never before the implant.
    dates = [last]
    for _n in range(history):
        previous = dates[-1] - timedelta(days=cycle_days - rng.randrange(0, 10))
        if previous <= pump.implant_date:
            dates.append(pump.implant_date)
            break
        dates.append(previous)
    dates.reverse()
    fills = []
    previous_cycle = None
    for day in dates:
        initial = day == pump.implant_date
        expected = schedule.expected_residual(previous_cycle, day) if not initial else None
        removed = None
        discrepancy = None
        needs_review = False
        if expected is not None:
            removed = schedule.to_decimal(expected, 2)
            if day == last and rng.random() < 0.015:
                removed = min(pump.reservoir_ml, removed + Decimal(3))  # more left than expected
            discrepancy = schedule.residual_discrepancy(removed, expected)
            needs_review = schedule.discrepancy_flagged(discrepancy, pump.reservoir_ml) and rng.random() < 0.8
        fills.append(
            {
                "performed_on": day,
                "is_initial_fill": initial,
                "volume_removed_ml": removed,
                "volume_added_ml": max(volume - (removed or 0), Decimal(0)),
                "volume_after_ml": volume,
                "concentration_mcg_ml": concentration,
                "daily_dose_mcg": dose,
                "bolus_allowance_mcg": bolus,
                "expected_residual_ml": schedule.to_decimal(expected, 3) if expected is not None else None,
                "residual_discrepancy_ml": schedule.to_decimal(discrepancy, 3) if discrepancy is not None else None,
                "needs_review": needs_review,
            }
        )
        previous_cycle = schedule.fill_cycle(day, volume, concentration, dose, bolus)
    changes = []
    if change:
        changes.append({"performed_on": last + timedelta(days=change[0]), "daily_dose_mcg": change[1]})
    return {"refills": fills, "changes": changes, "last": last, "offsets": off}


def bulk_appointments(rng: random.Random, refill_due: date, fills: list[dict], today: date, staff: int) -> list[dict]:
    """About 30% of pumps have a scheduled refill (mostly on time, some late), past visits
    completed. ``assigned`` is an index into the clinic's ``staff`` members."""
    rows = []

    def appointment(day, kind, status):
        return {
            "kind": kind,
            "local_date": day,
            "local_time": rng.choice(SLOTS),
            "assigned": rng.randrange(staff),
            "status": status,
        }

    if rng.random() < 0.30:
        if refill_due >= today and rng.random() < 0.85:
            day = max(today + timedelta(days=1), refill_due - timedelta(days=rng.randrange(0, 10)))
        else:
            day = max(today + timedelta(days=1), refill_due + timedelta(days=rng.randrange(1, 15)))
        rows.append(appointment(day, "refill", "scheduled"))
    if rng.random() < 0.02:
        rows.append(appointment(today + timedelta(days=rng.randrange(5, 120)), "review", "scheduled"))
    for fill in fills[-3:]:
        if not fill["is_initial_fill"] and rng.random() < 0.5:
            rows.append(appointment(fill["performed_on"], "refill", "completed"))
    return rows
