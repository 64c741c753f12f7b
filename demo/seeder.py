"""The synthetic demo clinic of ``manage.py seed_demo``: invented people only.

Two halves:

- ``build_plan`` is pure: from the clinic's today, its schedule settings and the pump
  models it plans about 40 invented patients, each pump's fill history, program
  changes and appointments. Every date is relative to today and each pump's last
  refill is chosen (through the schedule engine itself) so that the pump has the
  status its scenario asks for, whenever the command is run.
- ``create_demo`` writes that plan through the validation forms (patients/forms.py,
  refills/forms.py), so every value obeys the rules a clinician's entry would, and the
  models recompute the stored schedule on each save. ``verify_demo`` then reads the
  statuses back in SQL and compares them with the plan.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal
from fractions import Fraction

from refills import schedule
from screening import demo as screening_demo

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

# Obviously invented names: ordinary first names, surnames no family carries.
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

SLOTS = tuple(time(hour, minute) for hour in range(9, 16) for minute in (0, 30))
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


def pump_schedule(pump: PumpPlan, spec: ModelSpec, settings: Settings) -> schedule.PumpSchedule:
    """The schedule of a planned pump's current fill cycle."""
    latest = pump.refills[-1]
    return schedule.pump_schedule(
        cycle_of(latest, pump.changes),
        pump.alarm_volume_ml,
        settings.buffer_days,
        spec.max_refill_interval_days,
        settings.due_soon_days,
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
    result = schedule.pump_schedule(
        cycle, alarm_ml, settings.buffer_days, spec.max_refill_interval_days, settings.due_soon_days
    )
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
        return f"DEMO-{prefix}{self.serials:05d}"

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
        mrn = f"DEMO{number:04d}"
        opt_in = s.opt_in if s.opt_in is not None else number % 3 == 0
        has_email = opt_in or number % 2 == 0
        manager = s.manager if s.manager != "auto" else (MANAGER, MANAGER, ADMIN, None)[number % 4]
        patient = PatientPlan(
            mrn=mrn,
            first_name=first_name,
            last_name=last_name,
            date_of_birth=date(rng.randint(1948, 2008), rng.randint(1, 12), rng.randint(1, 28)),
            email=f"{first_name}.{last_name}.{number}@example.invalid".lower() if has_email else "",
            phone=f"07700 900{number:03d}",  # Ofcom's drama range
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


# -- Writing it: through the validation forms ----------------------------------------


class DemoDataError(RuntimeError):
    """A planned record failed the app's validation."""


def _model_specs() -> dict[str, ModelSpec]:
    from patients.models import PumpModel

    return {
        m.code: ModelSpec(m.code, m.reservoir_ml, m.alarm_volume_ml, m.service_life_months, m.max_refill_interval_days)
        for m in PumpModel.objects.exclude(code=PumpModel.OTHER)
    }


def clinic_settings(clinic) -> Settings:
    return Settings(clinic.buffer_days, clinic.due_soon_days, clinic.replacement_window_days)


def _saved(form, what: str, save=None):
    """Validate ``form`` and save it (through ``save``, a refills.services function, when the
    form's own save does not write the derived state it feeds)."""
    if not form.is_valid():
        raise DemoDataError(f"{what}: {form.errors.get_json_data()}")
    return save(form.save(commit=False)) if save is not None else form.save()


def _blank(value) -> str:
    return "" if value is None else str(value)


def ensure_users(clinic) -> dict:
    """The three demo logins and their memberships, password reset to the documented one."""
    from django.contrib.auth import get_user_model

    from clinic.models import Membership

    users = {}
    for username, role, first_name, last_name, superuser in USERS:
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.first_name, user.last_name = first_name, last_name
        user.email = f"{username}@example.invalid"
        user.is_active = True
        user.is_staff = user.is_superuser = superuser
        user.set_password(PASSWORD)
        user.save()
        Membership.objects.update_or_create(
            user=user, clinic=clinic, defaults={"role": role, "digest_opt_in": role != "staff"}
        )
        users[username] = user
    return users


def create_demo(today: date | None = None):
    """Create the demo clinic, its members and caseload as of ``today`` (default: the
    clinic's today). Returns (clinic, plan, today)."""
    from clinic.audit import acting_as
    from clinic.models import Clinic

    clinic = Clinic(name=CLINIC_NAME, slug=SLUG, time_zone=TIME_ZONE, phone=CLINIC_PHONE, email=CLINIC_EMAIL)
    clinic.full_clean()
    clinic.save()
    users = ensure_users(clinic)
    today = today or clinic.today()
    plan = build_plan(today, _model_specs(), clinic_settings(clinic))
    with acting_as(users[ADMIN]):
        for patient_plan in plan:
            _create_patient(clinic, today, users, patient_plan)
        plan += screening_demo.create_screening_demo(clinic, today, users)  # issue 16
    from scheduling.demo import seed_week  # sessions and an absence (issue 15)

    seed_week(clinic, users, today, ADMIN, MANAGER)
    from worklist.demo import seed_worklist  # the worklist's items in every state (issue 15)

    seed_worklist(clinic, users, today, ADMIN, MANAGER, STAFF)
    return clinic, plan, today


def _create_patient(clinic, today, users, plan: PatientPlan) -> None:
    from clinic.audit import acting_as
    from patients.forms import PatientForm, PumpForm
    from patients.models import PumpModel
    from refills import services

    manager = users.get(plan.manager) if plan.manager else None
    patient = _saved(
        PatientForm(
            data={
                "mrn": plan.mrn,
                "first_name": plan.first_name,
                "last_name": plan.last_name,
                "date_of_birth": plan.date_of_birth,
                "email": plan.email,
                "phone": plan.phone,
                "reminders_opt_in": plan.reminders_opt_in,
                "manager": manager.pk if manager else "",
                "status": plan.status,
                "sci_t6_or_above": plan.sci_t6_or_above,
                "communication_difficulty": plan.communication_difficulty,
                "previous_withdrawal": plan.previous_withdrawal,
                "notes": plan.notes,
            },
            clinic=clinic,
            today=today,
        ),
        f"patient {plan.mrn}",
    )
    models = {m.code: m for m in PumpModel.objects.all()}
    performer = manager or users[MANAGER]
    pump = None
    for pump_plan in plan.pumps:
        pump = _saved(
            PumpForm(
                data={
                    "model": models[pump_plan.model].pk,
                    "serial_number": pump_plan.serial_number,
                    "implant_date": pump_plan.implant_date,
                    "reservoir_ml": "",
                    "alarm_volume_ml": pump_plan.alarm_volume_ml if pump_plan.custom_alarm else "",
                    "eri_date": _blank(pump_plan.eri_date),
                },
                clinic=clinic,
                today=today,
                patient=patient,
            ),
            f"pump {pump_plan.serial_number}",
            save=services.edit_pump,
        )
        events = [(r.performed_on, 0, r) for r in pump_plan.refills] + [
            (c.performed_on, 1, c) for c in pump_plan.changes
        ]
        for _day, _order, event in sorted(events, key=lambda e: (e[0], e[1])):
            # The audit trail names who recorded the fill: its performer, as the timeline does.
            with acting_as(performer):
                _save_event(event, pump, pump_plan, performer, today)
        if pump_plan.explant_date is not None:
            pump.status, pump.explant_date = pump.Status.EXPLANTED, pump_plan.explant_date
            services.edit_pump(pump)
    for visit in plan.appointments:
        # Booked by the staff member the appointment names as its creator.
        with acting_as(users[STAFF]):
            _save_visit(visit, patient, pump, users, today, plan.mrn)


def _save_visit(visit, patient, pump, users, today, mrn: str) -> None:
    from refills import services
    from refills.forms import AppointmentForm
    from refills.models import Appointment

    assignee = users.get(visit.assigned_to) if visit.assigned_to else None
    instance = Appointment(patient=patient, pump=pump, created_by=users[STAFF], status=visit.status)
    if visit.status == "scheduled":
        _saved(
            AppointmentForm(
                data={
                    "kind": visit.kind,
                    "local_date": visit.local_date,
                    "local_time": visit.local_time.strftime("%H:%M"),
                    "assigned_to": assignee.pk if assignee else "",
                    "notes": visit.notes,
                },
                patient=patient,
                today=today,
                instance=instance,
            ),
            f"appointment of {mrn} on {visit.local_date}",
        )
    else:
        # Past or cancelled visits: the booking form only takes new, future ones.
        instance.kind, instance.local_date, instance.local_time = visit.kind, visit.local_date, visit.local_time
        instance.assigned_to, instance.notes = assignee, visit.notes
        services.book_appointment(instance)


def _save_event(event, pump, pump_plan, performer, today) -> None:
    """A planned refill (and its review) or program change, through the validation forms."""
    from refills import services
    from refills.forms import ProgramChangeForm, RefillForm
    from refills.models import ProgramChange, Refill

    if isinstance(event, RefillPlan):
        refill = _saved(
            RefillForm(
                data={
                    "performed_on": event.performed_on,
                    "volume_removed_ml": _blank(event.volume_removed_ml),
                    "volume_added_ml": event.volume_after_ml,
                    "volume_after_ml": event.volume_after_ml,
                    "concentration_mcg_ml": event.concentration,
                    "daily_dose_mcg": event.dose,
                    "dosing_mode": event.mode,
                    "bolus_allowance_mcg": event.bolus,
                    "bridge_bolus_confirmed": event.bridge_bolus,
                    "notes": event.notes,
                },
                pump=pump,
                today=today,
                initial_fill=event.initial,
                instance=Refill(pump=pump, performed_by=performer),
            ),
            f"refill of {pump_plan.serial_number} on {event.performed_on}",
        )
        if event.review_note:
            services.acknowledge_refill(refill, performer, event.review_note)
    else:
        _saved(
            ProgramChangeForm(
                data={
                    "performed_on": event.performed_on,
                    "daily_dose_mcg": _blank(event.dose),
                    "bolus_allowance_mcg": _blank(event.bolus),
                    "dosing_mode": "",
                    "notes": event.notes,
                },
                pump=pump,
                today=today,
                instance=ProgramChange(pump=pump, performed_by=performer),
            ),
            f"program change of {pump_plan.serial_number} on {event.performed_on}",
        )


def delete_demo(clinic) -> None:
    """Remove the demo clinic and everything in it (the users stay, to be reset)."""
    from patients.models import Patient, Pump
    from refills import services
    from refills.models import Appointment

    services.delete_appointments(Appointment.objects.filter(patient__clinic=clinic))
    screening_demo.delete_screening_demo(clinic)  # candidates protect their patients
    Pump.objects.filter(clinic=clinic).delete()
    Patient.objects.filter(clinic=clinic).delete()
    clinic.delete()


# -- Checking the result in SQL --------------------------------------------------------


@dataclass
class Summary:
    today: date
    patients: int
    inactive_patients: int
    by_status: Counter  # (status, booking) -> pumps
    awaiting_review: int
    replacement_urgent: int
    replacement_planned: int
    eri_reached: int
    appointments_next_week: int
    mismatches: list[str]

    def lines(self) -> list[str]:
        out = [f"Active pumps by status on {self.today} (booked / booked late / unbooked):"]
        for status in STATUSES:
            counts = [self.by_status[(status, state)] for state in (BOOKED, LATE, UNBOOKED)]
            out.append(f"  {status:<9} {sum(counts):>3}   ({counts[0]} / {counts[1]} / {counts[2]})")
        out += [
            f"Patients: {self.patients} ({self.inactive_patients} no longer followed)",
            f"Refills awaiting review: {self.awaiting_review}",
            f"Replacements: {self.replacement_urgent} within 90 days ({self.eri_reached} past ERI), "
            f"{self.replacement_planned} more within the replacement window",
            f"Scheduled appointments in the next 7 days: {self.appointments_next_week}",
        ]
        return out


def verify_demo(clinic, plan: list[PatientPlan], today: date) -> Summary:
    """Read the statuses on ``today`` back from SQL and compare them with the plan."""
    from patients.models import Patient, Pump
    from refills.models import Appointment, Refill

    pumps = Pump.objects.active().filter(clinic=clinic).with_status(today)
    rows = {row["patient__mrn"]: row for row in pumps.values("patient__mrn", "status_now", "booking")}
    mismatches = []
    for patient in plan:
        row = rows.pop(patient.mrn, None)
        if patient.expected_status is None:
            if row is not None:
                mismatches.append(f"{patient.mrn}: not followed but listed")
            continue
        got = (row["status_now"], row["booking"]) if row else None
        if got != (patient.expected_status, patient.expected_booking):
            mismatches.append(f"{patient.mrn}: planned {patient.expected_status}/{patient.expected_booking}, got {got}")
    mismatches += [f"{mrn}: listed but not planned" for mrn in rows]
    window = today + timedelta(days=clinic.replacement_window_days)
    urgent = today + timedelta(days=schedule.URGENT_REPLACEMENT_DAYS)
    return Summary(
        today=today,
        patients=Patient.objects.filter(clinic=clinic).count(),
        inactive_patients=Patient.objects.filter(clinic=clinic).exclude(status="active").count(),
        by_status=Counter(pumps.values_list("status_now", "booking")),
        awaiting_review=Refill.objects.filter(pump__clinic=clinic, needs_review=True).count(),
        replacement_urgent=pumps.filter(replacement_due__lte=urgent).count(),
        replacement_planned=pumps.filter(replacement_due__gt=urgent, replacement_due__lte=window).count(),
        eri_reached=pumps.filter(eri_date__lte=today).count(),
        appointments_next_week=Appointment.objects.filter(
            patient__clinic=clinic, status="scheduled", local_date__gte=today, local_date__lte=today + timedelta(7)
        ).count(),
        mismatches=mismatches,
    )
