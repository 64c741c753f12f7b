"""The monthly accountability report (SPEC 9): on-time refills, days late, and per member the
worklist items resolved and the median time to claim.

**The refill due that applied at a refill.** A pump stores only its current refill due, so
the due that applied when a refill was done is computed again from the fill cycle running
then: the pump's previous refill with the program changes between the two, through the
schedule engine (refills.schedule.fill_cycle and pump_schedule, the same arithmetic that
stored the due at the time), with the pump's alarm volume, its model's maximum interval and
the clinic's buffer days as they are now. A refill is on time when done on or before that
due; days late count from it. The implant's first fill, and a refill with no earlier refill
recorded (the import brings only the last one), had no due: they are counted apart and left
out of the rate. Three queries whatever the month's size, then one pass of the engine.

**Median days late** is over the late refills only (how late they were); the on-time rate
says how many were late.

**Per member.** Items resolved in the month by their owner when they resolved
(``Item.resolved_by``), and the median time from an item opening to its first claim, over
the items first claimed in the month by that member (``first_claimed_by``). Months are the
clinic's local months.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction

from django.db.models import Count, OuterRef, Subquery

from clinic.display import member_name
from clinic.models import Membership
from refills import schedule
from refills.models import ProgramChange, Refill
from worklist.models import Item


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """YYYY-MM; ValueError with a message otherwise."""
        parts = text.strip().split("-")
        if len(parts) != 2 or len(parts[0]) != 4 or len(parts[1]) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError("expected a month as YYYY-MM.")
        year, month = int(parts[0]), int(parts[1])
        if not 1 <= month <= 12 or year < 1900:
            raise ValueError("this is not a real month (YYYY-MM).")
        return cls(year, month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def last_day(self) -> date:
        return self.next.first_day - timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class RefillOutcome:
    pump_id: int
    performed_on: date
    due: date

    @property
    def days_late(self) -> int:
        return max((self.performed_on - self.due).days, 0)

    @property
    def on_time(self) -> bool:
        return self.performed_on <= self.due


@dataclass
class MemberRow:
    user_id: int
    name: str
    items_resolved: int = 0
    claim_waits: list[timedelta] = field(default_factory=list)

    @property
    def items_claimed(self) -> int:
        return len(self.claim_waits)

    @property
    def median_time_to_claim(self) -> timedelta | None:
        return statistics.median(self.claim_waits) if self.claim_waits else None


@dataclass
class MonthReport:
    month: Month
    outcomes: list[RefillOutcome]
    without_due: int  # refills with no due that applied (first fills, no earlier refill recorded)
    members: list[MemberRow]
    items_resolved_all: int = 0  # every item resolved in the month, claimed or not (the clinic's total)

    @property
    def refills(self) -> int:
        return len(self.outcomes)

    @property
    def on_time(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.on_time)

    @property
    def late(self) -> int:
        return self.refills - self.on_time

    @property
    def on_time_rate(self) -> Fraction | None:
        """On-time refills / all refills with a due (None without any)."""
        return Fraction(self.on_time, self.refills) if self.refills else None

    @property
    def on_time_percent(self) -> str:
        rate = self.on_time_rate
        if rate is None:
            return ""
        percent = round(rate * 1000) / 10  # one decimal, exact until here
        return f"{percent:.1f}".removesuffix(".0")

    @property
    def median_days_late(self):
        late = [outcome.days_late for outcome in self.outcomes if not outcome.on_time]
        if not late:
            return None
        median = statistics.median(late)
        return int(median) if median == int(median) else median

    @property
    def items_resolved(self) -> int:
        return sum(row.items_resolved for row in self.members)


def refill_outcomes(clinic, month: Month) -> tuple[list[RefillOutcome], int]:
    """The month's refills of the clinic's pumps with the due that applied at each, and how
    many had none (see the module docstring). Three queries."""
    previous = Refill.objects.filter(pump_id=OuterRef("pump_id"), performed_on__lt=OuterRef("performed_on")).order_by(
        "-performed_on", "-id"
    )
    refills = list(
        Refill.objects.filter(pump__clinic=clinic, performed_on__gte=month.first_day, performed_on__lte=month.last_day)
        .annotate(previous_id=Subquery(previous.values("id")[:1]))
        .order_by("performed_on", "pk")
        .values(
            "pump_id",
            "performed_on",
            "is_initial_fill",
            "previous_id",
            "pump__alarm_volume_ml",
            "pump__model__max_refill_interval_days",
        )
    )
    wanted = {row["previous_id"] for row in refills if row["previous_id"] and not row["is_initial_fill"]}
    fills = {
        row["pk"]: row
        for row in Refill.objects.filter(pk__in=wanted).values(
            "pk", "performed_on", "volume_after_ml", "concentration_mcg_ml", "daily_dose_mcg", "bolus_allowance_mcg"
        )
    }
    changes = defaultdict(list)
    if fills:
        earliest = min(fill["performed_on"] for fill in fills.values())
        for change in (
            ProgramChange.objects.filter(
                pump__clinic=clinic, performed_on__gt=earliest, performed_on__lt=month.last_day
            )
            .order_by("performed_on", "pk")
            .values("pump_id", "performed_on", "daily_dose_mcg", "bolus_allowance_mcg")
        ):
            changes[change["pump_id"]].append(change)

    outcomes, without_due = [], 0
    for row in refills:
        fill = fills.get(row["previous_id"]) if not row["is_initial_fill"] else None
        if fill is None:
            without_due += 1
            continue
        between = [
            (c["performed_on"], c["daily_dose_mcg"], c["bolus_allowance_mcg"])
            for c in changes[row["pump_id"]]
            if fill["performed_on"] < c["performed_on"] < row["performed_on"]
        ]
        cycle = schedule.fill_cycle(
            fill["performed_on"],
            fill["volume_after_ml"],
            fill["concentration_mcg_ml"],
            fill["daily_dose_mcg"],
            fill["bolus_allowance_mcg"],
            between,
        )
        due = schedule.pump_schedule(
            cycle,
            row["pump__alarm_volume_ml"],
            clinic.buffer_days,
            row["pump__model__max_refill_interval_days"],
            clinic.due_soon_days,
        ).refill_due
        outcomes.append(RefillOutcome(row["pump_id"], row["performed_on"], due))
    return outcomes, without_due


def month_bounds(clinic, month: Month) -> tuple[datetime, datetime]:
    """The month's first and next month's first moment in the clinic's zone."""
    zone = clinic.zone
    return (
        datetime.combine(month.first_day, time.min, tzinfo=zone),
        datetime.combine(month.next.first_day, time.min, tzinfo=zone),
    )


def member_rows(clinic, month: Month) -> list[MemberRow]:
    """Every member of the clinic (and anyone else who resolved or claimed its items in the
    month), with the items they resolved and their claim waits. Three queries."""
    start, end = month_bounds(clinic, month)
    rows: dict[int, MemberRow] = {}
    for membership in Membership.objects.filter(clinic=clinic).select_related("user"):
        rows[membership.user_id] = MemberRow(membership.user_id, member_name(membership.user))
    items = Item.objects.filter(clinic=clinic)
    resolved = (
        items.filter(resolved_at__gte=start, resolved_at__lt=end, resolved_by__isnull=False)
        .order_by()
        .values("resolved_by", "resolved_by__first_name", "resolved_by__last_name", "resolved_by__username")
        .annotate(count=Count("pk"))
    )
    for entry in resolved:
        row = rows.get(entry["resolved_by"]) or rows.setdefault(
            entry["resolved_by"], MemberRow(entry["resolved_by"], _former_name(entry, "resolved_by"))
        )
        row.items_resolved = entry["count"]
    claims = items.filter(first_claimed_at__gte=start, first_claimed_at__lt=end, first_claimed_by__isnull=False).values(
        "first_claimed_by",
        "first_claimed_by__first_name",
        "first_claimed_by__last_name",
        "first_claimed_by__username",
        "opened_at",
        "first_claimed_at",
    )
    for entry in claims.iterator(chunk_size=2000):
        user_id = entry["first_claimed_by"]
        row = rows.get(user_id) or rows.setdefault(user_id, MemberRow(user_id, _former_name(entry, "first_claimed_by")))
        row.claim_waits.append(max(entry["first_claimed_at"] - entry["opened_at"], timedelta(0)))
    return sorted(rows.values(), key=lambda row: (row.name.lower(), row.user_id))


def _former_name(entry: dict, prefix: str) -> str:
    full = f"{entry[f'{prefix}__first_name']} {entry[f'{prefix}__last_name']}".strip()
    return f"{full or entry[f'{prefix}__username']} (no longer a member)"


def month_report(clinic, month: Month) -> MonthReport:
    outcomes, without_due = refill_outcomes(clinic, month)
    start, end = month_bounds(clinic, month)
    resolved_all = Item.objects.filter(clinic=clinic, resolved_at__gte=start, resolved_at__lt=end).count()
    return MonthReport(month, outcomes, without_due, member_rows(clinic, month), resolved_all)


def duration_text(value: timedelta | None) -> str:
    """A wait in words: "45 min", "3 h 20 min", "2 days 4 h"."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min"


CSV_COLUMNS = (
    "month",
    "member",
    "refills",
    "refills_on_time",
    "on_time_rate_percent",
    "median_days_late",
    "refills_without_due",
    "items_resolved",
    "items_first_claimed",
    "median_hours_to_claim",
)


def csv_rows(report: MonthReport):
    """The first row is the clinic's (refill figures and item totals), then one per member."""

    def hours(value: timedelta | None):
        if value is None:
            return ""
        return f"{value.total_seconds() / 3600:.1f}".removesuffix(".0")

    all_waits = [wait for row in report.members for wait in row.claim_waits]
    yield {
        "month": str(report.month),
        "member": "(clinic)",
        "refills": report.refills,
        "refills_on_time": report.on_time,
        "on_time_rate_percent": report.on_time_percent,
        "median_days_late": "" if report.median_days_late is None else report.median_days_late,
        "refills_without_due": report.without_due,
        "items_resolved": report.items_resolved,
        "items_first_claimed": len(all_waits),
        "median_hours_to_claim": hours(statistics.median(all_waits) if all_waits else None),
    }
    for row in report.members:
        yield {
            "month": str(report.month),
            "member": row.name,
            "refills": "",
            "refills_on_time": "",
            "on_time_rate_percent": "",
            "median_days_late": "",
            "refills_without_due": "",
            "items_resolved": row.items_resolved,
            "items_first_claimed": row.items_claimed,
            "median_hours_to_claim": hours(row.median_time_to_claim),
        }
