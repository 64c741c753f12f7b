"""The stored schedule follows the events that change it."""

from datetime import date
from decimal import Decimal

from tests.factories import ProgramChangeFactory, PumpFactory, RefillFactory


def test_refill_sets_stored_dates(db):
    pump = PumpFactory()
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    pump.refresh_from_db()
    # 18 mL above the 2 mL alarm at 0.2 mL/day: 90 days.
    assert pump.alarm_date == date(2026, 4, 1)
    assert pump.empty_date == date(2026, 4, 11)
    assert pump.refill_due == date(2026, 3, 25)
    assert pump.due_soon_from == date(2026, 3, 11)
    assert pump.replacement_due == date(2031, 1, 10)
    assert pump.replacement_estimated is True


def test_program_change_moves_alarm_date(db):
    pump = PumpFactory()
    RefillFactory(pump=pump, performed_on=date(2026, 1, 1), is_initial_fill=True)
    ProgramChangeFactory(pump=pump, performed_on=date(2026, 1, 31), daily_dose_mcg=Decimal("800"))
    pump.refresh_from_db()
    # 14 mL left on 31 Jan, 12 mL above alarm at 0.4 mL/day: 30 days.
    assert pump.alarm_date == date(2026, 3, 2)
