"""Seed synthetic clinics fast: bulk inserts only, no per-row save().

The stored schedule columns (alarm, empty, refill due, due soon, replacement due) are
computed with the app's own engine (refills.schedule), so every pump's status and
booking in SQL is exactly what the app would have stored. Names and numbers are
invented (MRN B<size>-...); nothing resembles a real patient.
"""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from clinic.models import Clinic, Membership
from patients.models import Patient, Pump, PumpModel
from refills import schedule
from refills.models import Appointment, ProgramChange, Refill
from refills.services import store_first_refill_booking

PASSWORD = "bench-password-2026"  # noqa: S105 (invented, local benchmark only)
BATCH = 5000
FIRST_NAMES = [
    "Ada",
    "Ben",
    "Cara",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jo",
    "Kai",
    "Lea",
    "Max",
    "Nia",
    "Oto",
    "Pia",
    "Quin",
    "Rae",
    "Sol",
    "Tam",
    "Uma",
    "Vic",
    "Wen",
    "Xan",
    "Yu",
    "Zoe",
]
LAST_NAMES = [
    "Archer",
    "Baker",
    "Carter",
    "Dalton",
    "Ellis",
    "Foster",
    "Grant",
    "Hughes",
    "Irving",
    "Jensen",
    "Keller",
    "Lowe",
    "Mercer",
    "Nolan",
    "Oakes",
    "Price",
    "Quigley",
    "Reed",
    "Shaw",
    "Turner",
    "Upton",
    "Vance",
    "Walsh",
    "Young",
    "Zeller",
]
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
RICH_HISTORY_REFILLS = 24  # the patient whose page is measured has years of fills


def pick(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class SeededClinic:
    clinic: Clinic
    size: int
    staff: object  # the user the page measures log in as
    load_users: list = field(default_factory=list)  # usernames for the load test
    rich_patient_id: int | None = None
    counts: dict = field(default_factory=dict)
    status_mix: str = ""


def bulk(model, objects, **kwargs):
    """bulk_create in batches; returns the objects with their primary keys."""
    created = []
    for start in range(0, len(objects), BATCH):
        created += model.objects.bulk_create(objects[start : start + BATCH], **kwargs)
    return created


def copy_rows(model, rows: list[dict]) -> int:
    """Insert many child rows (no primary keys needed back) with PostgreSQL's COPY.

    ``rows`` are dicts by attname (``pump_id``); missing fields take the model's default
    (``auto_now`` fields now). Several times faster than bulk_create for the largest
    tables (refills, appointments, audit entries).
    """
    if not rows:
        return 0
    from psycopg.types.json import Jsonb

    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key and not getattr(f, "generated", False)]
    defaults = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now
        elif f.has_default() or not f.null:
            defaults[f.attname] = f.get_default()
        else:
            defaults[f.attname] = None
    json_fields = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    names = [f.attname for f in fields]
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = []
                for name in names:
                    value = row[name] if name in row else defaults[name]
                    values.append(Jsonb(value) if name in json_fields and value is not None else value)
                copy.write_row(values)
    return len(rows)


def make_users(clinic: Clinic, size: int, password_hash: str, load_users: int) -> dict:
    """Admins, pump managers and staff of the clinic (and load-test staff if asked)."""
    user_model = get_user_model()
    managers = max(3, min(40, size // 2500))
    roles = [("admin", Membership.Role.ADMIN, 2), ("manager", Membership.Role.MANAGER, managers)]
    roles += [("staff", Membership.Role.STAFF, 8), ("load", Membership.Role.STAFF, load_users)]
    users, memberships, by_role = [], [], {}
    for prefix, role, count in roles:
        for n in range(count):
            user = user_model(
                username=f"{clinic.slug}-{prefix}-{n:02d}",
                first_name=FIRST_NAMES[n % len(FIRST_NAMES)],
                last_name=f"{LAST_NAMES[n % len(LAST_NAMES)]}{prefix.title()}",
                email=f"{clinic.slug}-{prefix}-{n:02d}@example.invalid",
                password=password_hash,
            )
            users.append((prefix, role, user))
    user_model.objects.bulk_create([user for _p, _r, user in users])
    for prefix, role, user in users:
        memberships.append(Membership(user=user, clinic=clinic, role=role, digest_opt_in=prefix == "manager"))
        by_role.setdefault(prefix, []).append(user)
    Membership.objects.bulk_create(memberships)
    return by_role


def fill_plan(rng: random.Random, pump: Pump, model: PumpModel):
    """Concentration, dose, bolus and volume of a pump's fills."""
    concentration = Decimal(rng.choices([500, 1000, 2000], weights=[10, 30, 60])[0])
    dose = Decimal(rng.randrange(50, 900, 5))
    bolus = Decimal(0) if rng.random() < 0.9 else Decimal(rng.randrange(20, 100, 10))
    volume = pump.reservoir_ml if rng.random() < 0.85 else pump.reservoir_ml - Decimal(rng.randrange(1, 4))
    return concentration, dose, bolus, volume


def offsets(cycle, pump: Pump, model: PumpModel, clinic: Clinic, refilled_on: date):
    result = schedule.pump_schedule(
        cycle, pump.alarm_volume_ml, clinic.buffer_days, model.max_refill_interval_days, clinic.due_soon_days
    )
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


def local_start(day: date, at: time, clinic: Clinic) -> datetime:
    return datetime.combine(day, at, tzinfo=clinic.zone)


def seed_clinic(size: int, *, password_hash: str, load_users: int = 0, seed: int = 8, slug: str = "") -> SeededClinic:
    rng = random.Random(seed * 1_000_003 + size)
    slug = slug or f"bench-{size // 1000}k"
    clinic = Clinic.objects.create(name=f"Bench clinic {size:,}", slug=slug, time_zone="Europe/London")
    today = clinic.today()
    models = {m.code: m for m in PumpModel.objects.all()}
    people = make_users(clinic, size, password_hash, load_users)
    managers = people["manager"] + people["admin"]
    clinic_ct, patient_ct, pump_ct = (ContentType.objects.get_for_model(m) for m in (Clinic, Patient, Pump))

    with transaction.atomic():
        patients = []
        for n in range(size):
            has_email = rng.random() < 0.6
            flags = [rng.random() < 0.08, rng.random() < 0.06, rng.random() < 0.05]
            patients.append(
                Patient(
                    clinic=clinic,
                    mrn=f"B{size // 1000}K{n:07d}",
                    first_name=rng.choice(FIRST_NAMES),
                    last_name=rng.choice(LAST_NAMES),
                    date_of_birth=date(1940, 1, 1) + timedelta(days=rng.randrange(0, 25000)),
                    email=f"patient{n}@{slug}.example.invalid" if has_email else "",
                    phone=f"0100 {n % 1000:03d} {n % 10000:04d}",
                    reminders_opt_in=has_email and rng.random() < 0.6,
                    manager=rng.choice(managers) if rng.random() < 0.85 else None,
                    status=pick(rng, PATIENT_STATUS_WEIGHTS),
                    sci_t6_or_above=flags[0],
                    communication_difficulty=flags[1],
                    previous_withdrawal=flags[2],
                )
            )
        patients = bulk(Patient, patients)

        pumps, plans = [], []
        for n, patient in enumerate(patients):
            code = pick(rng, MODEL_WEIGHTS)
            model = models[code]
            reservoir = model.reservoir_ml or Decimal(rng.choice([20, 40]))
            alarm = model.alarm_volume_ml or Decimal("2.5")
            if rng.random() < 0.1:
                alarm += Decimal(1)  # some patients need an earlier alarm
            implant = today - timedelta(days=rng.randrange(120, 3300))
            eri = None
            if code == "other" or rng.random() < 0.1:
                eri = implant + timedelta(days=rng.randrange(1500, 2800))
            explanted = patient.status != "active" and rng.random() < 0.5
            pump = Pump(
                clinic=clinic,
                patient=patient,
                model=model,
                serial_number=f"SN{size // 1000}K{n:07d}",
                implant_date=implant,
                reservoir_ml=reservoir,
                alarm_volume_ml=alarm,
                eri_date=eri,
                status=Pump.Status.EXPLANTED if explanted else Pump.Status.ACTIVE,
                explant_date=today - timedelta(days=rng.randrange(1, 100)) if explanted else None,
            )
            status = pick(rng, STATUS_WEIGHTS)
            plan = plan_fills(rng, clinic, pump, model, status, today)  # may move the implant earlier
            replacement = schedule.replacement_due(pump.implant_date, model.service_life_months, eri)
            pump.replacement_due = replacement.due if replacement else None
            pump.replacement_estimated = replacement.estimated if replacement else True
            for key, value in (plan["stored"] if plan else {}).items():
                setattr(pump, key, value)
            plans.append(plan)
            pumps.append(pump)
        pumps = bulk(Pump, pumps)

        # The patient whose page is measured: an active SynchroMed II with years of fills.
        rich = next(
            i for i, p in enumerate(pumps) if p.status == "active" and patients[i].status == "active" and plans[i]
        )
        rich_pump = pumps[rich]
        rich_pump.model = models["prometra-ii-20"]
        rich_pump.reservoir_ml, rich_pump.alarm_volume_ml, rich_pump.eri_date = Decimal(20), Decimal(3), None
        rich_pump.implant_date = today - timedelta(days=8 * 365)
        plans[rich] = plan_fills(
            rng, clinic, rich_pump, rich_pump.model, schedule.DUE_SOON, today, history=RICH_HISTORY_REFILLS
        )
        replacement = schedule.replacement_due(rich_pump.implant_date, rich_pump.model.service_life_months, None)
        rich_pump.replacement_due, rich_pump.replacement_estimated = replacement.due, True
        rich_fields = ["model", "reservoir_ml", "alarm_volume_ml", "eri_date", "implant_date", "replacement_due"]
        Pump.objects.filter(pk=rich_pump.pk).update(
            **{name: getattr(rich_pump, name) for name in rich_fields}, **plans[rich]["stored"]
        )

        refills, changes, appointments, entries = [], [], [], []
        for pump, patient, plan in zip(pumps, patients, plans, strict=True):
            if plan is None:
                continue
            for fill in plan["refills"]:
                refills.append({"pump_id": pump.pk, "performed_by_id": rng.choice(managers).pk, **fill})
            for change in plan["changes"]:
                changes.append({"pump_id": pump.pk, "performed_by_id": rng.choice(managers).pk, **change})
            if pump.status != "active":
                continue
            appointments += plan_appointments(rng, clinic, patient, pump, plan, today, people["staff"])
        copy_rows(Refill, refills)
        copy_rows(ProgramChange, changes)
        copy_rows(Appointment, appointments)
        store_first_refill_booking(Pump.objects.filter(clinic=clinic))  # what the booking services keep

        # The audit trail a caseload of this size has: each patient and pump created.
        stamp = timezone.now() - timedelta(days=30)
        actor = people["admin"][0]

        def entry(content_type, object_id, patient_id, changes):
            return {
                "content_type_id": content_type.pk,
                "object_pk": str(object_id),
                "object_id": object_id,
                "object_repr": f"{content_type.model} {object_id}",
                "action": LogEntry.Action.CREATE,
                "changes": changes,
                "changes_text": "",
                "actor_id": actor.pk,
                "timestamp": stamp,
                "additional_data": {"clinic_id": clinic.pk, "patient_id": patient_id},
            }

        entries.append(entry(clinic_ct, clinic.pk, None, {"name": ["None", clinic.name]}))
        for patient, pump in zip(patients, pumps, strict=True):
            entries.append(entry(patient_ct, patient.pk, patient.pk, {"mrn": ["None", patient.mrn]}))
            entries.append(entry(pump_ct, pump.pk, patient.pk, {"serial_number": ["None", pump.serial_number]}))
        copy_rows(LogEntry, entries)

    counts = {
        "patients": len(patients),
        "pumps": len(pumps),
        "refills": len(refills),
        "program changes": len(changes),
        "appointments": len(appointments),
        "audit entries": len(entries),
    }
    return SeededClinic(
        clinic=clinic,
        size=size,
        staff=people["staff"][0],
        load_users=[u.username for u in people.get("load", [])],
        rich_patient_id=patients[rich].pk,
        counts=counts,
    )


def plan_fills(rng, clinic, pump, model, status, today, history=1):
    """The fills of a pump giving it ``status`` today, with the stored dates they imply."""
    if status == schedule.NO_FILL:
        return None
    concentration, dose, bolus, volume = fill_plan(rng, pump, model)
    rate = schedule.planning_rate(dose, bolus, concentration)
    change = None
    if rng.random() < 0.05:
        change = (rng.randrange(5, 40), dose + Decimal(25))
    base = date(2000, 1, 1)
    changes = ()
    if change:
        changes = (
            schedule.RateChange(
                base + timedelta(days=change[0]), schedule.planning_rate(change[1], bolus, concentration)
            ),
        )
    off = offsets(schedule.FillCycle.build(base, volume, rate, changes), pump, model, clinic, base)
    ago = None
    for candidate in [status, schedule.OVERDUE, schedule.DUE_SOON, schedule.OK]:
        ago = days_ago_for(rng, candidate, off)
        if ago is not None:
            break
    if change and change[0] >= ago:
        # The program change would be in the future: drop it and recompute.
        change, changes = None, ()
        off = offsets(schedule.FillCycle.build(base, volume, rate), pump, model, clinic, base)
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
        previous_cycle = schedule.FillCycle.build(day, volume, rate)
    changes_rows = []
    if change:
        changes_rows.append({"performed_on": last + timedelta(days=change[0]), "daily_dose_mcg": change[1]})
    stored = {
        "last_refill_date": last,
        "alarm_date": last + timedelta(days=off["alarm"]),
        "empty_date": last + timedelta(days=off["empty"]),
        "refill_due": last + timedelta(days=off["due"]),
        "due_soon_from": last + timedelta(days=off["due_soon"]),
    }
    return {"refills": fills, "changes": changes_rows, "stored": stored}


SLOTS = [time(8 + (30 + 15 * n) // 60, (30 + 15 * n) % 60) for n in range(30)]  # 08:30 to 15:45


def plan_appointments(rng, clinic, patient, pump, plan, today, staff):
    """About 30% of pumps have a scheduled refill (mostly on time, some late), past visits completed."""
    rows = []

    def appointment(day, kind, status):
        at = rng.choice(SLOTS)
        return {
            "patient_id": patient.pk,
            "pump_id": pump.pk,
            "kind": kind,
            "local_date": day,
            "local_time": at,
            "starts_at": local_start(day, at, clinic),
            "assigned_to_id": rng.choice(staff).pk,
            "status": status,
        }

    due = plan["stored"]["refill_due"]
    if rng.random() < 0.30:
        if due >= today and rng.random() < 0.85:
            day = max(today + timedelta(days=1), due - timedelta(days=rng.randrange(0, 10)))
        else:
            day = max(today + timedelta(days=1), due + timedelta(days=rng.randrange(1, 15)))
        rows.append(appointment(day, Appointment.Kind.REFILL, Appointment.Status.SCHEDULED))
    if rng.random() < 0.02:
        rows.append(appointment(today + timedelta(days=rng.randrange(5, 120)), Appointment.Kind.REVIEW, "scheduled"))
    for fill in plan["refills"][-3:]:
        if not fill["is_initial_fill"] and rng.random() < 0.5:
            rows.append(appointment(fill["performed_on"], Appointment.Kind.REFILL, Appointment.Status.COMPLETED))
    return rows


def seed(sizes, *, load_users: int, log=print) -> dict[int, SeededClinic]:
    password_hash = make_password(PASSWORD)
    seeded = {}
    for size in sizes:
        started = timezone.now()
        seeded[size] = seed_clinic(
            size, password_hash=password_hash, load_users=load_users if size == max(sizes) else 0
        )
        seconds = (timezone.now() - started).total_seconds()
        log(f"  seeded {size:>7,} pumps in {seconds:5.1f} s: {seeded[size].counts}")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    # Flush the seeding's writes now: else the checkpoint of a few hundred MB of WAL comes in
    # the middle of the measures (it did, during the load test: p95 1.5 s instead of 0.4 s).
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:
        log("  (CHECKPOINT needs a superuser: skipped)")
    return seeded


def existing(sizes) -> dict[int, SeededClinic]:
    """The clinics of an earlier run (bench/run.py --reuse)."""
    from django.db.models import Count

    user_model = get_user_model()
    seeded = {}
    for size in sizes:
        clinic = Clinic.objects.get(slug=f"bench-{size // 1000}k")
        rich = (
            Refill.objects.filter(pump__clinic=clinic)
            .values("pump__patient")
            .annotate(n=Count("pk"))
            .order_by("-n")
            .first()
        )
        seeded[size] = SeededClinic(
            clinic=clinic,
            size=size,
            staff=user_model.objects.get(username=f"{clinic.slug}-staff-00"),
            load_users=list(
                user_model.objects.filter(username__startswith=f"{clinic.slug}-load-")
                .order_by("username")
                .values_list("username", flat=True)
            ),
            rich_patient_id=rich["pump__patient"],
            counts={
                "patients": Patient.objects.filter(clinic=clinic).count(),
                "pumps": Pump.objects.filter(clinic=clinic).count(),
                "refills": Refill.objects.filter(pump__clinic=clinic).count(),
                "appointments": Appointment.objects.filter(patient__clinic=clinic).count(),
            },
        )
    return seeded
