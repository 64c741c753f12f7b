"""scheduling.capacity: slots, capacity and the SPEC 9 booking proposal, at their boundaries.

Calendar: Mon 23 Mar 2026 ... Fri 27, Sat 28, Sun 29, Mon 30 Mar 2026.
"""

from datetime import date, datetime, time, timedelta

from scheduling.capacity import (
    FULL_SESSION,
    MEMBER_ABSENT,
    NO_REFILLER,
    NON_WORKING_DAY,
    Absence,
    Booked,
    ClinicWeek,
    Session,
)

MON_FRI = [0, 1, 2, 3, 4]
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 3, d) for d in range(23, 30))
NEXT_MON = date(2026, 3, 30)
ANN, BEN = 11, 12  # pump managers' user ids
NINE, NINE_30, TEN = time(9), time(9, 30), time(10)


def ann_tuesday(slots=2):
    return Session(1, weekday=1, start=NINE, slots=slots, slot_minutes=30, member_id=ANN)


def clinic_thursday(slots=2):
    return Session(2, weekday=3, start=NINE, slots=slots, slot_minutes=30, member_id=None)


def week(sessions=(), absences=(), booked=(), working_days=MON_FRI, refillers=None):
    return ClinicWeek(working_days, sessions, absences, booked, refillers=refillers)


# Slots and capacity


def test_slots_of_a_session_follow_its_start_and_length():
    slots = week([ann_tuesday(3)]).slots_on(TUE)
    assert [s.start for s in slots] == [NINE, NINE_30, TEN]
    assert {s.member_id for s in slots} == {ANN}


def test_no_slots_on_other_weekdays_or_on_non_working_days():
    saturday_session = Session(3, weekday=5, start=NINE, slots=4, slot_minutes=30)
    clinic = week([ann_tuesday(), saturday_session])
    assert clinic.capacity(WED) == 0
    assert clinic.capacity(SAT) == 0  # a session on a day the clinic does not work counts for nothing
    assert week([saturday_session], working_days=[0, 1, 2, 3, 4, 5]).capacity(SAT) == 4


def test_an_absent_members_session_is_gone_but_the_clinic_session_stays():
    both_thursday = [Session(1, 3, NINE, 2, 30, ANN), clinic_thursday(3)]
    away = [Absence(ANN, WED, THU)]
    assert week(both_thursday).capacity(THU) == 5
    assert week(both_thursday, away).capacity(THU) == 3
    assert week(both_thursday, away).capacity(date(2026, 4, 2)) == 5  # back the next Thursday


def test_a_clinic_session_counts_only_while_a_member_who_can_refill_is_there():
    both_thursday = [Session(1, 3, NINE, 2, 30, ANN), clinic_thursday(3)]
    assert week(both_thursday, [Absence(ANN, THU, THU)], refillers=[ANN, BEN]).capacity(THU) == 3  # Ben is in
    # Both away: no one to run the clinic session (and Ann's own is gone too).
    both_away = [Absence(ANN, THU, THU), Absence(BEN, WED, THU)]
    assert week(both_thursday, both_away, refillers=[ANN, BEN]).capacity(THU) == 0
    assert week(both_thursday, both_away, refillers=[ANN, BEN]).capacity(date(2026, 4, 2)) == 5  # back next week
    # One of them away the day before or after only: the session stays.
    around = [Absence(ANN, WED, WED), Absence(BEN, FRI, FRI)]
    assert week([clinic_thursday(3)], around, refillers=[ANN, BEN]).capacity(THU) == 3
    assert week([clinic_thursday(3)], refillers=[]).capacity(THU) == 0  # no one can refill at all
    assert week([clinic_thursday(3)], both_away).capacity(THU) == 3  # members not known: kept


def test_a_member_session_is_held_while_its_member_is_in_even_with_every_other_refiller_away():
    sessions = [Session(1, 3, NINE, 2, 30, ANN), clinic_thursday(1)]
    away = [Absence(BEN, THU, THU)]
    # Ann is in: both her session and the clinic's (she can run it) are held.
    assert week(sessions, away, refillers=[ANN, BEN]).capacity(THU) == 3


def test_the_proposal_skips_a_clinic_session_nobody_can_run():
    sessions = [clinic_thursday(2), Session(3, 1, NINE, 1, 30, None)]
    away = [Absence(ANN, THU, THU), Absence(BEN, THU, THU)]
    clinic = week(sessions, away, refillers=[ANN, BEN])
    proposal = clinic.propose(refill_due=FRI, today=MON, manager_id=ANN)
    assert (proposal.day, proposal.start, proposal.late) == (TUE, NINE, False)
    # No earlier clinic session: the earliest after, booked late (not the empty Thursday).
    late = week([clinic_thursday(2)], away, refillers=[ANN, BEN]).propose(refill_due=THU, today=MON)
    assert (late.day, late.late) == (date(2026, 4, 2), True)
    # Ben back on Thursday: Thursday again.
    back = week(sessions, [Absence(ANN, THU, THU), Absence(BEN, WED, WED)], refillers=[ANN, BEN])
    assert back.propose(refill_due=FRI, today=MON).day == THU


def test_capacity_per_week_counts_used_and_free_slots():
    clinic = week([ann_tuesday(2), clinic_thursday(3)], booked=[Booked(TUE, NINE, ANN)])
    assert clinic.week_capacity(MON) == 5
    assert clinic.week_free(MON) == 4


def test_booked_refills_take_slots_and_an_overbooked_day_has_none_free():
    booked = [Booked(TUE, NINE, ANN), Booked(TUE, time(14), None), Booked(TUE, time(15), BEN)]
    clinic = week([ann_tuesday(2)], booked=booked)
    assert clinic.free_slots(TUE) == []


def test_a_booking_takes_the_slot_at_its_time_and_member():
    sessions = [Session(1, 3, NINE, 2, 30, ANN), clinic_thursday(2)]
    clinic = week(sessions, booked=[Booked(THU, NINE_30, ANN)])
    assert [(s.start, s.member_id) for s in clinic.free_slots(THU)] == [(NINE, ANN), (NINE, None), (NINE_30, None)]


# The proposal


def test_latest_free_day_on_or_before_due_with_the_managers_slot():
    proposal = week([ann_tuesday()]).propose(refill_due=date(2026, 4, 2), today=MON, manager_id=ANN)
    assert (proposal.day, proposal.start, proposal.member_id, proposal.late) == (date(2026, 3, 31), NINE, ANN, False)


def test_due_on_a_weekend_proposes_the_last_session_day_before():
    proposal = week([clinic_thursday()]).propose(refill_due=SUN, today=MON)
    assert (proposal.day, proposal.start, proposal.late) == (THU, NINE, False)


def test_a_full_last_slot_moves_the_proposal_to_the_previous_session_day():
    booked = [Booked(THU, NINE, None), Booked(THU, NINE_30, None)]
    clinic = week([clinic_thursday(2), Session(3, 0, TEN, 1, 30)], booked=booked)
    proposal = clinic.propose(refill_due=FRI, today=MON)
    assert (proposal.day, proposal.start) == (MON, TEN)


def test_one_free_slot_left_is_proposed():
    clinic = week([clinic_thursday(2)], booked=[Booked(THU, NINE, None)])
    proposal = clinic.propose(refill_due=FRI, today=MON)
    assert (proposal.day, proposal.start) == (THU, NINE_30)


def test_an_absence_on_the_due_date_moves_to_the_managers_earlier_session():
    sessions = [Session(1, 1, NINE, 2, 30, ANN), Session(2, 3, NINE, 2, 30, ANN)]
    clinic = week(sessions, absences=[Absence(ANN, THU, THU)])
    proposal = clinic.propose(refill_due=THU, today=MON, manager_id=ANN)
    assert (proposal.day, proposal.member_id, proposal.late) == (TUE, ANN, False)


def test_an_absence_on_the_due_date_with_no_earlier_manager_slot_uses_the_clinic_session():
    sessions = [Session(1, 3, NINE, 2, 30, ANN), clinic_thursday(1)]
    clinic = week(sessions, absences=[Absence(ANN, THU, THU)])
    proposal = clinic.propose(refill_due=THU, today=MON, manager_id=ANN)
    assert (proposal.day, proposal.member_id, proposal.late) == (THU, None, False)


def test_the_managers_session_is_preferred_to_a_later_clinic_session():
    sessions = [ann_tuesday(), clinic_thursday()]
    proposal = week(sessions).propose(refill_due=FRI, today=MON, manager_id=ANN)
    assert (proposal.day, proposal.member_id) == (TUE, ANN)


def test_on_the_same_day_the_managers_slot_comes_before_the_clinics():
    sessions = [clinic_thursday(), Session(5, 3, TEN, 1, 30, ANN)]
    proposal = week(sessions).propose(refill_due=THU, today=MON, manager_id=ANN)
    assert (proposal.start, proposal.member_id) == (TEN, ANN)


def test_without_a_managers_slot_a_clinic_slot_comes_before_another_members():
    sessions = [Session(1, 3, NINE, 1, 30, BEN), Session(2, 3, TEN, 1, 30, None)]
    proposal = week(sessions).propose(refill_due=THU, today=MON, manager_id=ANN)
    assert (proposal.start, proposal.member_id) == (TEN, None)


def test_no_free_slot_before_due_proposes_the_earliest_after_marked_late():
    booked = [Booked(THU, NINE, None), Booked(THU, NINE_30, None)]
    clinic = week([clinic_thursday(2), Session(3, 0, TEN, 1, 30)], booked=booked)
    proposal = clinic.propose(refill_due=FRI, today=TUE)
    assert (proposal.day, proposal.start, proposal.late) == (NEXT_MON, TEN, True)


def test_due_date_already_past_proposes_the_first_free_slot_from_today_late():
    proposal = week([ann_tuesday(), clinic_thursday()]).propose(refill_due=date(2026, 3, 2), today=WED, manager_id=ANN)
    assert (proposal.day, proposal.member_id, proposal.late) == (THU, None, True)


def test_never_before_today_even_when_today_has_a_slot_and_due_is_today():
    clinic = week([ann_tuesday()])
    assert clinic.propose(refill_due=TUE, today=TUE, manager_id=ANN).day == TUE
    assert clinic.propose(refill_due=WED, today=WED, manager_id=ANN).day == date(2026, 3, 31)


def test_no_refill_due_proposes_the_first_free_slot_not_late():
    proposal = week([clinic_thursday()]).propose(refill_due=None, today=MON)
    assert (proposal.day, proposal.late) == (THU, False)


def test_no_sessions_keeps_the_working_day_proposal_without_time_or_member():
    proposal = week([]).propose(refill_due=SUN, today=MON, manager_id=ANN)
    assert (proposal.day, proposal.start, proposal.member_id, proposal.late, proposal.fits) == (
        FRI,
        None,
        None,
        False,
        False,
    )
    past = week([]).propose(refill_due=date(2026, 3, 2), today=SAT)
    assert (past.day, past.late) == (NEXT_MON, True)


def test_inactive_sessions_are_left_out_by_the_caller_and_zero_slot_sessions_count_as_none():
    assert not week([Session(1, 3, NINE, 0, 30)]).has_sessions


def test_the_730_day_limit_a_due_date_beyond_it_proposes_the_last_slot_within():
    far_due = MON + timedelta(days=800)
    proposal = week([clinic_thursday()]).propose(refill_due=far_due, today=MON)
    assert proposal.day <= MON + timedelta(days=730)
    assert proposal.day > MON + timedelta(days=723)
    assert proposal.day.weekday() == 3


def test_the_730_day_limit_no_free_slot_within_it_falls_back_to_the_working_day():
    far_due = MON + timedelta(days=729)
    only_after = Session(1, 3, NINE, 1, 30)
    booked = [Booked(THU + timedelta(weeks=n), NINE) for n in range(0, 106)]  # every Thursday for two years
    proposal = week([only_after], booked=booked).propose(refill_due=far_due, today=MON)
    assert proposal.start is None and not proposal.fits
    assert proposal.day.weekday() < 5


def test_proposals_of_one_batch_do_not_share_a_slot():
    clinic = week([clinic_thursday(2)])
    first = clinic.propose(refill_due=FRI, today=MON)
    clinic.take(clinic.free_slots(first.day)[0])
    second = clinic.propose(refill_due=FRI, today=MON)
    clinic.take(clinic.free_slots(second.day)[0])
    third = clinic.propose(refill_due=FRI, today=MON)
    assert [(p.day, p.start, p.late) for p in (first, second, third)] == [
        (THU, NINE, False),
        (THU, NINE_30, False),
        (date(2026, 4, 2), NINE, True),
    ]


# Problems a booking runs into


def test_problems_name_a_non_working_day_a_full_session_and_an_absent_member():
    booked = [Booked(TUE, NINE, ANN), Booked(TUE, NINE_30, ANN)]
    clinic = week([ann_tuesday(2)], absences=[Absence(BEN, WED, WED)], booked=booked)
    assert clinic.problems(SAT, NINE, None) == [NON_WORKING_DAY]
    assert clinic.problems(TUE, NINE, ANN) == [FULL_SESSION]
    assert clinic.problems(WED, NINE, BEN) == [MEMBER_ABSENT]
    assert clinic.problems(THU, NINE, ANN) == []  # no session that day: nothing to be full


def test_booking_a_clinic_session_with_every_refiller_away_names_it():
    away = [Absence(ANN, WED, THU), Absence(BEN, WED, THU)]
    clinic = week([clinic_thursday(2)], away, refillers=[ANN, BEN])
    assert clinic.problems(THU, NINE, None) == [NO_REFILLER]
    assert clinic.problems(THU, NINE, ANN) == [MEMBER_ABSENT]  # a named member: their absence says it
    assert clinic.problems(WED, NINE, None) == [NO_REFILLER]  # no session that day, and no one there
    assert clinic.problems(TUE, NINE, None) == []  # before they go
    assert clinic.problems(FRI, NINE, None) == []  # they are back
    assert clinic.problems(SAT, NINE, None) == [NON_WORKING_DAY]
    in_ = week([clinic_thursday(2)], [Absence(ANN, THU, THU)], refillers=[ANN, BEN])
    assert in_.problems(THU, NINE, None) == []  # Ben is in


def test_a_session_with_a_free_slot_is_not_full():
    clinic = week([ann_tuesday(2)], booked=[Booked(TUE, NINE, ANN)])
    assert clinic.problems(TUE, NINE, ANN) == []


def test_a_full_managers_session_leaves_the_clinic_sessions_slot_at_that_time():
    sessions = [Session(1, 1, NINE, 1, 30, ANN), Session(2, 1, NINE, 2, 30, None)]
    clinic = week(sessions, booked=[Booked(TUE, NINE, ANN)])
    assert clinic.problems(TUE, NINE, ANN) == []  # any member may run a clinic slot
    assert clinic.problems(TUE, NINE, None) == []


def test_another_members_free_slot_does_not_make_room_for_this_one():
    sessions = [Session(1, 1, NINE, 1, 30, ANN), Session(2, 1, NINE, 1, 30, BEN)]
    clinic = week(sessions, booked=[Booked(TUE, NINE, ANN)])
    assert clinic.problems(TUE, NINE, ANN) == [FULL_SESSION]
    assert clinic.problems(TUE, NINE, BEN) == []


def test_a_booking_outside_every_session_is_full_only_when_the_day_is():
    clinic = week([ann_tuesday(1)], booked=[Booked(TUE, NINE, ANN)])
    assert clinic.problems(TUE, time(15), ANN) == [FULL_SESSION]
    assert week([ann_tuesday(2)], booked=[Booked(TUE, NINE, ANN)]).problems(TUE, time(15), ANN) == []


def test_a_clinic_slot_goes_to_the_manager_unless_away_busy_in_their_session_or_taken_in_the_batch():
    sessions = [Session(1, 3, NINE, 1, 30, ANN), Session(2, 3, NINE, 3, 30, None)]
    clinic = week(sessions, booked=[Booked(THU, NINE, ANN)])  # Ann's own slot is taken
    at_nine = clinic.propose(refill_due=THU, today=MON, manager_id=ANN)
    assert (at_nine.start, at_nine.member_id, at_nine.assignee) == (NINE, None, None)  # Ann runs her session
    clinic.take(clinic.free_slots(THU)[0])
    at_half_past = clinic.propose(refill_due=THU, today=MON, manager_id=ANN)
    assert (at_half_past.start, at_half_past.assignee) == (NINE_30, ANN)  # her session is over by then
    assert clinic.propose(refill_due=THU, today=MON, manager_id=BEN).assignee == BEN
    assert clinic.propose(THU, MON, BEN, busy={(THU, NINE_30, BEN)}).assignee is None
    away = week([clinic_thursday()], absences=[Absence(BEN, THU, THU)])
    assert away.propose(refill_due=THU, today=MON, manager_id=BEN).assignee is None
    assert week([]).propose(refill_due=THU, today=MON, manager_id=BEN).assignee == BEN


# Now: today's slots that have begun are never proposed


def test_todays_slots_that_have_begun_are_not_free():
    at_9_15 = ClinicWeek(MON_FRI, [ann_tuesday(3)], now=datetime.combine(TUE, time(9, 15)))
    assert [s.start for s in at_9_15.free_slots(TUE)] == [NINE_30, TEN]
    assert at_9_15.propose(TUE, TUE, ANN).start == NINE_30
    assert at_9_15.capacity(TUE) == 3  # the day's capacity is unchanged; only proposals skip


def test_a_session_over_today_proposes_the_next_session_day_late():
    evening = ClinicWeek(MON_FRI, [ann_tuesday(2)], now=datetime.combine(TUE, time(20, 20)))
    proposal = evening.propose(TUE, TUE, ANN)
    assert (proposal.day, proposal.start, proposal.late) == (TUE + timedelta(days=7), NINE, True)


def test_without_sessions_the_proposal_is_tomorrow_once_nine_has_passed():
    assert ClinicWeek(MON_FRI, [], now=datetime.combine(MON, time(8, 59))).propose(None, MON).day == MON
    assert ClinicWeek(MON_FRI, [], now=datetime.combine(MON, time(9, 0))).propose(None, MON).day == TUE
