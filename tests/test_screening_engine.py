"""screening/engine.py: the MAS order, the per-group comparison, the effect and its duration,
the starting-dose proposal of SPEC 10 at its boundaries, and the stage moves."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from screening import engine
from screening.engine import TimePoint, Trial

D = Decimal
GIVEN = datetime(2026, 11, 2, 9, 0)


def trial(dose, before, after, outcome=engine.RESPONDER, given_at=GIVEN):
    return Trial(
        dose_mcg=D(dose),
        before=before,
        after=tuple(TimePoint(D(hours), scores) for hours, scores in after),
        outcome=outcome,
        given_at=given_at,
    )


def test_mas_order_puts_one_plus_between_one_and_two():
    ranks = [engine.mas_rank(s) for s in ("0", "1", "1+", "2", "3", "4")]
    assert ranks == sorted(ranks) == list(range(6))
    assert engine.mas_rank("1") < engine.mas_rank("1+") < engine.mas_rank("2")
    with pytest.raises(ValueError):
        engine.mas_rank("5")
    assert not engine.is_mas_score("1.5") and engine.is_mas_score("1+")


def test_compare_groups_before_best_after_and_change_in_steps():
    t = trial(
        50,
        {"knee_l": "3", "hip_l": "1+", "ankle_l": "2"},
        [(2, {"knee_l": "2", "hip_l": "1"}), (4, {"knee_l": "1", "hip_l": "1+"}), (8, {"knee_l": "1"})],
    )
    rows = {r.group: r for r in engine.compare_groups(t)}
    # 3 -> 1 passes 2 and 1+: three steps.
    assert (rows["knee_l"].before, rows["knee_l"].best_after, rows["knee_l"].change) == ("3", "1", -3)
    assert rows["knee_l"].best_after_hours == D(4)  # the first time point that reached the best
    assert (rows["hip_l"].best_after, rows["hip_l"].change) == ("1", -1)  # 1+ -> 1 is one step
    assert "ankle_l" not in rows  # never scored after the dose: nothing to compare
    ordered = engine.compare_groups(t, order=["hip_l", "ankle_l", "knee_l"])
    assert [r.group for r in ordered] == ["hip_l", "knee_l"]


def test_worse_after_the_dose_is_a_positive_change():
    t = trial(50, {"knee_l": "1"}, [(2, {"knee_l": "1+"}), (4, {"knee_l": "2"})])
    (row,) = engine.compare_groups(t)
    assert (row.best_after, row.change, row.improved) == ("1+", 1, False)


def test_effect_is_a_mean_drop_of_one_step_over_the_groups_scored():
    # At 2 h: -1 and 0, mean -0.5: no effect. At 4 h: -2 and 0, mean -1: the effect.
    t = trial(50, {"a": "2", "b": "2"}, [(2, {"a": "1+", "b": "2"}), (4, {"a": "1", "b": "2"})])
    assert [engine.shows_effect(t, p) for p in t.after] == [False, True]
    assert engine.is_effective(t)
    assert engine.effect_duration_hours(t) == D(4)


def test_effect_duration_is_the_last_time_point_still_showing_the_drop():
    t = trial(
        50,
        {"a": "3"},
        [(1, {"a": "2"}), (4, {"a": "1"}), (6, {"a": "2"}), (10, {"a": "3"})],
    )
    assert engine.effect_duration_hours(t) == D(6)
    no_effect = trial(50, {"a": "3"}, [(2, {"a": "3"}), (4, {"a": "3"})])
    assert engine.effect_duration_hours(no_effect) is None
    assert not engine.is_effective(no_effect)


def test_proposal_effect_exactly_8_hours_is_twice_the_dose():
    t = trial(50, {"a": "3"}, [(2, {"a": "1"}), (8, {"a": "2"}), (12, {"a": "3"})])
    proposal = engine.propose_starting_dose([t])
    assert proposal.daily_dose_mcg == D(100)
    assert "twice" in proposal.reason and "8 hours" in proposal.reason and "100 mcg/day" in proposal.reason
    assert proposal.trial is t


def test_proposal_effect_beyond_8_hours_is_the_screening_dose():
    t = trial(75, {"a": "3"}, [(2, {"a": "1"}), (8.5, {"a": "2"})])
    proposal = engine.propose_starting_dose([t])
    assert proposal.daily_dose_mcg == D(75)
    assert "more than 8 hours" in proposal.reason and "75 mcg/day" in proposal.reason


def test_proposal_several_trials_of_which_the_second_was_effective():
    first = trial(50, {"a": "3", "b": "2"}, [(2, {"a": "3", "b": "2"})], outcome=engine.INCONCLUSIVE)
    second = trial(
        75,
        {"a": "3", "b": "2"},
        [(2, {"a": "1", "b": "1"}), (6, {"a": "2", "b": "1"})],
        given_at=GIVEN + timedelta(days=1),
    )
    third = trial(100, {"a": "3"}, [(2, {"a": "0"}), (12, {"a": "1"})], given_at=GIVEN + timedelta(days=2))
    proposal = engine.propose_starting_dose([first, second, third])
    # The effective screening dose is the lowest effective responder dose: 75, last seen at 6 h.
    assert proposal.trial is second
    assert proposal.daily_dose_mcg == D(150)


def test_proposal_ignores_an_effective_trial_not_marked_responder():
    t = trial(50, {"a": "3"}, [(2, {"a": "1"})], outcome=engine.NON_RESPONDER)
    proposal = engine.propose_starting_dose([t])
    assert proposal.daily_dose_mcg is None
    assert "No trial is marked responder" in proposal.reason


def test_proposal_for_a_non_responder_is_none_with_a_reason():
    t = trial(100, {"a": "3"}, [(2, {"a": "3"}), (4, {"a": "3"})], outcome=engine.NON_RESPONDER)
    assert engine.propose_starting_dose([t]).daily_dose_mcg is None
    assert engine.propose_starting_dose([]).reason.startswith("No screening trial")


def test_proposal_responder_without_a_drop_in_the_scores_is_none():
    t = trial(50, {"a": "2", "b": "2"}, [(2, {"a": "1+", "b": "2"})])
    proposal = engine.propose_starting_dose([t])
    assert proposal.daily_dose_mcg is None
    assert "one MAS step" in proposal.reason


def test_proposal_keeps_decimals_exact():
    t = trial("37.5", {"a": "3"}, [(4, {"a": "1"})])
    assert engine.propose_starting_dose([t]).daily_dose_mcg == D("75.0")


def test_from_stored_sorts_time_points_and_reads_hours_as_decimals():
    t = Trial.from_stored(
        given_at=GIVEN,
        dose_mcg=D(50),
        outcome=engine.RESPONDER,
        mas_before={"a": "2"},
        mas_after=[{"hours": "4", "scores": {"a": "1"}}, {"hours": "1.5", "scores": {"a": "2"}}],
    )
    assert [p.hours for p in t.after] == [D("1.5"), D(4)]


def test_trials_24_hours_apart():
    others = [GIVEN]
    assert engine.too_close(GIVEN + timedelta(hours=24), others) is None
    assert engine.too_close(GIVEN + timedelta(hours=23, minutes=59), others) == GIVEN
    assert engine.too_close(GIVEN - timedelta(hours=2), others) == GIVEN  # entered out of order


def test_dose_confirmation_outside_25_to_100():
    assert not engine.dose_needs_confirmation(D(25))
    assert not engine.dose_needs_confirmation(D(100))
    assert engine.dose_needs_confirmation(D("24.9"))
    assert engine.dose_needs_confirmation(D("100.5"))


def test_stage_moves_are_forward_one_back_or_closing():
    assert engine.allowed_moves(engine.REFERRED) == (engine.ASSESSED, engine.CLOSED)
    assert engine.TRIAL_SCHEDULED in engine.allowed_moves(engine.TRIAL_DONE)  # another trial
    assert engine.IMPLANTED not in engine.allowed_moves(engine.TRIAL_DONE)
    assert engine.allowed_moves(engine.IMPLANTED) == ()
    assert engine.allowed_moves(engine.CLOSED, closed_from=engine.TRIAL_DONE) == (engine.TRIAL_DONE,)
    assert engine.allowed_moves(engine.CLOSED) == (engine.REFERRED,)
