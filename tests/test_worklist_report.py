"""worklist.report: the due that applied at each refill, on time and days late at their
boundaries, months in the clinic's zone, and per member items resolved and time to claim.

Every pump is 20 mL at 0.2 mL/day (the factories' fill) with 7 buffer days: a refill on R
gives an alarm on R + 90 and a refill due on R + 83.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from tests.factories import PatientFactory, ProgramChangeFactory, PumpFactory, RefillFactory, UserFactory
from worklist.models import Item
from worklist.report import Month, csv_rows, duration_text, month_report, refill_outcomes

pytestmark = pytest.mark.django_db
NOVEMBER = Month(2026, 11)


def pump_filled_on(clinic, day: date, mrn=None):
    pump = PumpFactory(patient=PatientFactory(clinic=clinic, **({"mrn": mrn} if mrn else {})))
    RefillFactory(pump=pump, performed_on=day, is_initial_fill=True)
    return pump


def refill(pump, day: date):
    return RefillFactory(pump=pump, performed_on=day, volume_removed_ml=Decimal("3"))


def test_a_refill_on_its_due_is_on_time_and_a_day_after_is_one_day_late(clinic):
    on_due = pump_filled_on(clinic, date(2026, 8, 15))  # due 6 Nov
    refill(on_due, date(2026, 11, 6))
    day_late = pump_filled_on(clinic, date(2026, 8, 15))
    refill(day_late, date(2026, 11, 7))
    early = pump_filled_on(clinic, date(2026, 8, 20))  # due 11 Nov
    refill(early, date(2026, 11, 2))
    outcomes, without_due = refill_outcomes(clinic, NOVEMBER)
    found = {o.pump_id: (o.due, o.on_time, o.days_late) for o in outcomes}
    assert found == {
        on_due.pk: (date(2026, 11, 6), True, 0),
        day_late.pk: (date(2026, 11, 6), False, 1),
        early.pk: (date(2026, 11, 11), True, 0),
    }
    assert without_due == 0
    report = month_report(clinic, NOVEMBER)
    assert (report.refills, report.on_time, report.late) == (3, 2, 1)
    assert report.on_time_rate == Fraction(2, 3)
    assert report.on_time_percent == "66.7"
    assert report.median_days_late == 1


def test_the_due_that_applied_is_the_previous_cycles_not_the_current_one(clinic):
    pump = pump_filled_on(clinic, date(2026, 5, 1))  # due 23 Jul
    refill(pump, date(2026, 7, 30))  # 7 days late; this refill's own cycle makes a later due
    refill(pump, date(2026, 10, 21))  # due from 30 Jul: 21 Oct, on time (same day)
    pump.refresh_from_db()
    assert pump.refill_due == date(2027, 1, 12)  # the stored due is the current cycle's
    (july,), _ = refill_outcomes(clinic, Month(2026, 7))
    assert (july.due, july.days_late) == (date(2026, 7, 23), 7)
    (october,), _ = refill_outcomes(clinic, Month(2026, 10))
    assert (october.due, october.on_time) == (date(2026, 10, 21), True)


def test_a_program_change_between_refills_moves_the_due(clinic):
    pump = pump_filled_on(clinic, date(2026, 8, 1))  # at 400 mcg/day: due 23 Oct
    # 800 mcg/day (0.4 mL/day) from 1 Sep: 31 days used 6.2 mL, 13.8 left; 11.8 above the alarm
    # last 29 days: alarm 30 Sep, due 23 Sep.
    ProgramChangeFactory(pump=pump, performed_on=date(2026, 9, 1), daily_dose_mcg=Decimal("800"))
    refill(pump, date(2026, 9, 25))
    (outcome,), _ = refill_outcomes(clinic, Month(2026, 9))
    assert (outcome.due, outcome.days_late) == (date(2026, 9, 23), 2)


def test_first_fills_and_refills_without_an_earlier_one_have_no_due(clinic, other_clinic):
    pump_filled_on(clinic, date(2026, 11, 3))  # implanted and first filled in November
    lone = PumpFactory(patient=PatientFactory(clinic=clinic))
    refill(lone, date(2026, 11, 4))  # an imported last refill: no earlier refill recorded
    counted = pump_filled_on(clinic, date(2026, 8, 15))
    refill(counted, date(2026, 11, 30))  # last day of the month: in it
    refill(pump_filled_on(clinic, date(2026, 9, 10)), date(2026, 12, 1))  # next month: not in it
    refill(pump_filled_on(other_clinic, date(2026, 8, 15)), date(2026, 11, 6))  # another clinic
    report = month_report(clinic, NOVEMBER)
    assert [o.pump_id for o in report.outcomes] == [counted.pk]
    assert report.without_due == 2
    assert report.median_days_late == 24  # due 6 Nov, done 30 Nov


def test_median_days_late_is_over_the_late_refills(clinic):
    for filled, done in [
        (date(2026, 8, 15), date(2026, 11, 6)),  # on time
        (date(2026, 8, 15), date(2026, 11, 8)),  # 2 late
        (date(2026, 8, 15), date(2026, 11, 11)),  # 5 late
    ]:
        refill(pump_filled_on(clinic, filled), done)
    assert month_report(clinic, NOVEMBER).median_days_late == Fraction(7, 2)


def test_an_empty_month(clinic):
    report = month_report(clinic, NOVEMBER)
    assert (report.refills, report.on_time_rate, report.on_time_percent, report.median_days_late) == (0, None, "", None)


def item(clinic, pump, *, opened, cycle, **fields):
    return Item.objects.create(
        clinic=clinic,
        pump=pump,
        kind=Item.Kind.REFILL,
        cycle_date=cycle,
        opened_at=opened,
        open_since=opened,
        **fields,
    )


def test_items_resolved_and_median_time_to_claim_per_member(clinic, admin_user, manager, staff):
    pump = pump_filled_on(clinic, date(2026, 8, 1))
    opened = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    # Staff claimed three items after 1 h, 2 h and 6 h (median 2 h) and resolved two of them.
    for n, hours in enumerate((1, 2, 6)):
        item(
            clinic,
            pump,
            opened=opened,
            cycle=date(2026, 1, 1) + timedelta(days=n),
            state=Item.State.RESOLVED if n < 2 else Item.State.CLAIMED,
            first_claimed_by=staff,
            first_claimed_at=opened + timedelta(hours=hours),
            claimed_by=staff,
            claimed_at=opened + timedelta(hours=hours),
            resolved_by=staff if n < 2 else None,
            resolved_at=opened + timedelta(days=1) if n < 2 else None,
        )
    # London is on UTC in winter: 23:59 on 30 Nov is November, midnight on 1 Dec is December.
    item(
        clinic,
        pump,
        opened=opened,
        cycle=date(2026, 2, 1),
        state=Item.State.RESOLVED,
        resolved_by=manager,
        resolved_at=datetime(2026, 11, 30, 23, 59, tzinfo=UTC),
    )
    item(
        clinic,
        pump,
        opened=opened,
        cycle=date(2026, 2, 2),
        state=Item.State.RESOLVED,
        resolved_by=manager,
        resolved_at=datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
    )
    # A first claim in October counts in October, not November.
    item(
        clinic,
        pump,
        opened=opened - timedelta(days=40),
        cycle=date(2026, 3, 1),
        state=Item.State.CLAIMED,
        first_claimed_by=manager,
        first_claimed_at=datetime(2026, 10, 31, 12, 0, tzinfo=UTC),
    )
    # A member who has left still shows.
    former = UserFactory(username="fran-former", first_name="Fran", last_name="Former")
    item(
        clinic,
        pump,
        opened=opened,
        cycle=date(2026, 4, 1),
        state=Item.State.RESOLVED,
        resolved_by=former,
        resolved_at=opened + timedelta(hours=3),
        first_claimed_by=former,
        first_claimed_at=opened + timedelta(minutes=30),
    )

    report = month_report(clinic, NOVEMBER)
    rows = {row.user_id: row for row in report.members}
    assert rows[staff.pk].items_resolved == 2
    assert rows[staff.pk].median_time_to_claim == timedelta(hours=2)
    assert rows[manager.pk].items_resolved == 1
    assert rows[manager.pk].median_time_to_claim is None
    assert rows[admin_user.pk].items_resolved == 0
    assert rows[former.pk].name == "Fran Former (no longer a member)"
    assert report.items_resolved == 4
    october = {row.user_id: row for row in month_report(clinic, Month(2026, 10)).members}
    assert october[manager.pk].claim_waits == [timedelta(days=38, hours=3)]

    csv = list(csv_rows(report))
    assert csv[0]["member"] == "(clinic)" and csv[0]["items_resolved"] == 4 and csv[0]["items_first_claimed"] == 4
    assert csv[0]["median_hours_to_claim"] == "1.5"  # 0.5, 1, 2 and 6 h
    staff_row = next(row for row in csv if row["items_first_claimed"] == 3)
    assert staff_row["median_hours_to_claim"] == "2"


def test_months_follow_the_clinics_zone(other_clinic):
    """New York: 02:00 UTC on 1 Dec is 21:00 on 30 Nov there, so November."""
    resolver = UserFactory(username="nyc-staff")
    from tests.factories import MembershipFactory

    MembershipFactory(clinic=other_clinic, user=resolver, role="staff")
    pump = pump_filled_on(other_clinic, date(2026, 8, 1))
    item(
        other_clinic,
        pump,
        opened=datetime(2026, 11, 20, tzinfo=UTC),
        cycle=date(2026, 1, 1),
        state=Item.State.RESOLVED,
        resolved_by=resolver,
        resolved_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
    )
    rows = {row.user_id: row for row in month_report(other_clinic, NOVEMBER).members}
    assert rows[resolver.pk].items_resolved == 1


@pytest.mark.parametrize(
    ("text", "error"),
    [("2026-13", "not a real month"), ("2026-1", "YYYY-MM"), ("Nov 2026", "YYYY-MM"), ("", "YYYY-MM")],
)
def test_month_parsing(text, error):
    with pytest.raises(ValueError, match=error):
        Month.parse(text)


def test_month_arithmetic_and_durations():
    assert Month.parse("2026-12").next == Month(2027, 1)
    assert Month(2026, 1).previous == Month(2025, 12)
    assert Month(2028, 2).last_day == date(2028, 2, 29)
    assert [duration_text(timedelta(minutes=m)) for m in (45, 200, 60, 3 * 1440 + 240, 1440)] == [
        "45 min",
        "3 h 20 min",
        "1 h",
        "3 days 4 h",
        "1 day",
    ]
