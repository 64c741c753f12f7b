"""Seed synthetic clinics fast: bulk inserts only, no per-row save().

What is seeded (invented names, MRNs, pump models, programs, fill dates relative to
today, statuses, appointments) is the one synthetic-data plan, demo/plan.py (the
``bulk_*`` functions and their weights); this module is its bulk writer. The stored
schedule columns (alarm, empty, refill due, due soon, replacement due) are computed with
the app's own engine (refills.schedule, through the plan), so every pump's status and
booking in SQL is exactly what the app would have stored.
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
from demo import plan
from patients.models import Patient, Pump, PumpModel
from refills import schedule
from refills.models import Appointment, ProgramChange, Refill
from refills.services import store_first_refill_booking

PASSWORD = "bench-password-2026"  # noqa: S105 (invented, local benchmark only)
BATCH = 5000
RICH_HISTORY_REFILLS = 24  # the patient whose page is measured has years of fills


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
                first_name=plan.FIRST_NAMES[n % len(plan.FIRST_NAMES)],
                last_name=f"{plan.LAST_NAMES[n % len(plan.LAST_NAMES)]}{prefix.title()}",
                email=f"{clinic.slug}-{prefix}-{n:02d}@{plan.EMAIL_DOMAIN}",
                password=password_hash,
            )
            users.append((prefix, role, user))
    user_model.objects.bulk_create([user for _p, _r, user in users])
    for prefix, role, user in users:
        memberships.append(Membership(user=user, clinic=clinic, role=role, digest_opt_in=prefix == "manager"))
        by_role.setdefault(prefix, []).append(user)
    Membership.objects.bulk_create(memberships)
    return by_role


def store_schedule(pump: Pump, model: PumpModel, fills: dict | None) -> None:
    """The stored schedule columns the services would write: the engine's dates of the
    pump's current fill cycle (from the plan's offsets) and its replacement date."""
    replacement = schedule.replacement_due(pump.implant_date, model.service_life_months, pump.eri_date)
    pump.replacement_due = replacement.due if replacement else None
    pump.replacement_estimated = replacement.estimated if replacement else True
    if fills is None:
        return
    last, off = fills["last"], fills["offsets"]
    pump.last_refill_date = last
    pump.alarm_date = last + timedelta(days=off["alarm"])
    pump.empty_date = last + timedelta(days=off["empty"])
    pump.refill_due = last + timedelta(days=off["due"])
    pump.due_soon_from = last + timedelta(days=off["due_soon"])


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

    settings = plan.clinic_settings(clinic)
    staff = people["staff"]

    with transaction.atomic():
        patients = []
        for n in range(size):
            fields = plan.bulk_patient(rng, n, size, slug, len(managers))
            manager = fields.pop("manager")
            patients.append(
                Patient(clinic=clinic, manager=managers[manager] if manager is not None else None, **fields)
            )
        patients = bulk(Patient, patients)

        pumps, plans = [], []
        for n, patient in enumerate(patients):
            model = models[plan.pick(rng, plan.MODEL_WEIGHTS)]
            fields = plan.bulk_pump(rng, n, size, today, model, patient.status)
            explanted = fields.pop("explanted")
            pump = Pump(
                clinic=clinic,
                patient=patient,
                model=model,
                status=Pump.Status.EXPLANTED if explanted else Pump.Status.ACTIVE,
                **fields,
            )
            status = plan.pick(rng, plan.STATUS_WEIGHTS)
            fills = plan.bulk_fills(rng, settings, pump, model, status, today)  # may move the implant earlier
            store_schedule(pump, model, fills)
            plans.append(fills)
            pumps.append(pump)
        pumps = bulk(Pump, pumps)

        # The patient whose page is measured: an active Prometra II 20 mL with years of fills.
        rich = next(
            i for i, p in enumerate(pumps) if p.status == "active" and patients[i].status == "active" and plans[i]
        )
        rich_pump = pumps[rich]
        rich_pump.model = models["prometra-ii-20"]
        rich_pump.reservoir_ml, rich_pump.alarm_volume_ml, rich_pump.eri_date = Decimal(20), Decimal(3), None
        rich_pump.implant_date = today - timedelta(days=8 * 365)
        plans[rich] = plan.bulk_fills(
            rng, settings, rich_pump, rich_pump.model, schedule.DUE_SOON, today, history=RICH_HISTORY_REFILLS
        )
        store_schedule(rich_pump, rich_pump.model, plans[rich])
        rich_fields = ["model", "reservoir_ml", "alarm_volume_ml", "eri_date", "implant_date"]
        Pump.objects.filter(pk=rich_pump.pk).update(
            **{name: getattr(rich_pump, name) for name in [*rich_fields, *Pump.SCHEDULE_FIELDS]}
        )

        refills, changes, appointments, entries = [], [], [], []
        for pump, patient, fills in zip(pumps, patients, plans, strict=True):
            if fills is None:
                continue
            for fill in fills["refills"]:
                refills.append({"pump_id": pump.pk, "performed_by_id": rng.choice(managers).pk, **fill})
            for change in fills["changes"]:
                changes.append({"pump_id": pump.pk, "performed_by_id": rng.choice(managers).pk, **change})
            if pump.status != "active":
                continue
            for visit in plan.bulk_appointments(rng, pump.refill_due, fills["refills"], today, len(staff)):
                appointments.append(
                    {
                        "patient_id": patient.pk,
                        "pump_id": pump.pk,
                        "kind": visit["kind"],
                        "local_date": visit["local_date"],
                        "local_time": visit["local_time"],
                        "starts_at": local_start(visit["local_date"], visit["local_time"], clinic),
                        "assigned_to_id": staff[visit["assigned"]].pk,
                        "status": visit["status"],
                    }
                )
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
