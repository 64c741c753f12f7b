"""The clinic's week as arithmetic: slots, capacity and booking proposals (pure, no Django).

SPEC 9. A day's slots are those of the active refill sessions on its weekday, when the
clinic works that day, less the sessions of a member who is away that day. A clinic
session (no member) stays while at least one member who can refill (an admin or pump
manager, ``refillers``) works that day; with all of them away it has no one to run it and
counts for nothing, and a booking there needs a tick naming that (NO_REFILLER). Each scheduled refill appointment takes one slot of its
day (the slot at its time with its member if there is one, else the closest fit), so a
day's capacity is its slots and its free capacity what the appointments leave.

A booking proposal is a free slot on a working day: the latest day on or before refill
due (as late as safe, to keep the interval long) with a free slot of the patient's
manager, else the latest with any free slot (a clinic session first); if no day from
today to refill due has one, the earliest free slot after, marked booked late. Never
before today, never more than MAX_BOOKING_DAYS ahead. A clinic with no sessions keeps
the working-day proposal of refills.booking (no time, no member).

Members are identified by user id (appointments and patients name users).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from refills.booking import MAX_BOOKING_DAYS, proposed_booking_date, working_weekdays


@dataclass(frozen=True)
class Session:
    """A weekly refill session; ``member_id`` None is the clinic's session."""

    id: int
    weekday: int
    start: time
    slots: int
    slot_minutes: int
    member_id: int | None = None

    @property
    def clinic_session(self) -> bool:
        return self.member_id is None

    def slot_starts(self) -> list[time]:
        base = datetime.combine(date.min, self.start)
        starts = []
        for index in range(max(self.slots, 0)):
            moment = base + timedelta(minutes=self.slot_minutes * index)
            if moment.date() != date.min:  # a session running past midnight stops there
                break
            starts.append(moment.time())
        return starts

    def covers(self, moment: time) -> bool:
        starts = self.slot_starts()
        if not starts:
            return False
        end = datetime.combine(date.min, starts[-1]) + timedelta(minutes=self.slot_minutes)
        return self.start <= moment and (end.date() != date.min or moment < end.time())


@dataclass(frozen=True)
class Absence:
    member_id: int
    first_day: date
    last_day: date

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


@dataclass(frozen=True)
class Booked:
    """A scheduled refill appointment: it takes one slot of its day."""

    day: date
    start: time
    member_id: int | None = None


@dataclass(frozen=True)
class Slot:
    day: date
    start: time
    session_id: int
    member_id: int | None

    @property
    def clinic_session(self) -> bool:
        return self.member_id is None


@dataclass(frozen=True)
class Proposal:
    """What a booking form proposes. ``start`` and ``member_id`` are None when the clinic
    has no sessions (or no free slot within the booking limit): a working day only."""

    day: date
    start: time | None
    member_id: int | None
    late: bool
    session_id: int | None = None
    # Whom to book: the session's member; in a clinic session (or without sessions) the
    # patient's manager unless away that day or busy at that time (ClinicWeek.assignee_for).
    assignee: int | None = None

    @property
    def fits(self) -> bool:
        return self.session_id is not None


# The time of a proposal without a session slot (a clinic with no sessions).
DEFAULT_TIME = time(9, 0)

# Problems a booking may have; the form asks for a confirmation naming each.
NON_WORKING_DAY = "non_working_day"
FULL_SESSION = "full_session"
MEMBER_ABSENT = "member_absent"
NO_REFILLER = "no_refiller"  # every member who can refill is away that day


def _fit_rank(slot: Slot, booked: Booked) -> tuple:
    """Which slot an appointment takes: its time and member, then its member, then a clinic slot."""
    return (
        slot.start != booked.start,
        booked.member_id is None or slot.member_id != booked.member_id,
        not slot.clinic_session,
        slot.start,
        slot.session_id,
    )


@dataclass
class ClinicWeek:
    """The clinic's sessions, absences and booked refills; answers per day, caching each day."""

    working_days: Iterable[int] | None
    sessions: Iterable[Session]
    absences: Iterable[Absence] = ()
    booked: Iterable[Booked] = ()
    # The clinic-local time now (naive): the slots of its day starting at or before it have
    # passed, and are never free (a proposal is never in the past). None: no slot has passed.
    now: datetime | None = None
    # The user ids of the members who can refill (admins and pump managers): a clinic session
    # is held only on a day one of them is not away. None: not known, clinic sessions always held.
    refillers: Iterable[int] | None = None
    _free: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        self.working = working_weekdays(self.working_days)
        self.sessions = tuple(s for s in self.sessions if s.slots > 0 and s.slot_minutes > 0)
        self.absences = tuple(self.absences)
        self.refillers = None if self.refillers is None else frozenset(self.refillers)
        self._booked_by_day: dict[date, list[Booked]] = {}
        for item in self.booked:
            self._booked_by_day.setdefault(item.day, []).append(item)

    @property
    def has_sessions(self) -> bool:
        return bool(self.sessions)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.working

    def absent(self, member_id: int | None, day: date) -> bool:
        return member_id is not None and any(a.member_id == member_id and a.covers(day) for a in self.absences)

    def someone_refills(self, day: date) -> bool:
        """A member who can refill is not away on ``day`` (always, when the members are not known)."""
        return self.refillers is None or any(not self.absent(member, day) for member in self.refillers)

    def sessions_on(self, day: date) -> list[Session]:
        """The sessions held on ``day``: its weekday's, on a working day, less absent members',
        and the clinic's only while someone who can refill is there."""
        if not self.is_working_day(day):
            return []
        held = [s for s in self.sessions if s.weekday == day.weekday() and not self.absent(s.member_id, day)]
        if any(s.clinic_session for s in held) and not self.someone_refills(day):
            held = [s for s in held if not s.clinic_session]
        return held

    def slots_on(self, day: date) -> list[Slot]:
        return [
            Slot(day, start, session.id, session.member_id)
            for session in self.sessions_on(day)
            for start in session.slot_starts()
        ]

    def capacity(self, day: date) -> int:
        """Free and used slots of the day."""
        return len(self.slots_on(day))

    def free_slots(self, day: date) -> list[Slot]:
        """The slots the day's booked refills leave, in time order."""
        if day not in self._free:
            free = self.slots_on(day)
            for item in sorted(self._booked_by_day.get(day, ()), key=lambda b: (b.start, b.member_id or 0)):
                if not free:
                    break
                free.remove(min(free, key=lambda slot, item=item: _fit_rank(slot, item)))
            if self.now is not None and day == self.now.date():
                free = [slot for slot in free if slot.start > self.now.time()]
            self._free[day] = sorted(free, key=lambda slot: (slot.start, slot.session_id))
        return self._free[day]

    def take(self, slot: Slot) -> None:
        """Mark ``slot`` as taken, so the next proposal of the same batch goes elsewhere."""
        self.free_slots(slot.day).remove(slot)

    def week_capacity(self, monday: date) -> int:
        return sum(self.capacity(monday + timedelta(days=offset)) for offset in range(7))

    def week_free(self, monday: date) -> int:
        return sum(len(self.free_slots(monday + timedelta(days=offset))) for offset in range(7))

    def _pick(self, day: date, manager_id: int | None, *, manager_only: bool) -> Slot | None:
        free = self.free_slots(day)
        if manager_id is not None:
            for slot in free:
                if slot.member_id == manager_id:
                    return slot
        if manager_only:
            return None
        for slot in free:  # a clinic session before another member's
            if slot.clinic_session:
                return slot
        return free[0] if free else None

    def propose(self, refill_due: date | None, today: date, manager_id: int | None = None, busy=()) -> Proposal:
        """The SPEC 9 proposal for a pump whose refill is due on ``refill_due``, with whom to book
        (``busy``: (day, start, member) already given to others of the same batch)."""
        proposal = self._propose(refill_due, today, manager_id)
        return replace(proposal, assignee=self.assignee_for(proposal, manager_id, busy))

    def assignee_for(self, proposal: Proposal, manager_id: int | None, busy=()) -> int | None:
        if proposal.member_id is not None:
            return proposal.member_id
        if manager_id is None or self.absent(manager_id, proposal.day):
            return None
        if proposal.start is not None:
            if (proposal.day, proposal.start, manager_id) in busy:
                return None
            # Running their own session then: the clinic slot goes to whoever is free.
            if any(s.member_id == manager_id and s.covers(proposal.start) for s in self.sessions_on(proposal.day)):
                return None
        return manager_id

    def _propose(self, refill_due: date | None, today: date, manager_id: int | None) -> Proposal:
        if not self.has_sessions:
            day = proposed_booking_date(refill_due, self._first_day(today), self.working)
            return Proposal(day, None, None, late=refill_due is not None and day > refill_due)
        limit = today + timedelta(days=MAX_BOOKING_DAYS)
        if refill_due is not None and refill_due >= today:
            last = min(refill_due, limit)
            for manager_only in (True, False):
                if manager_only and manager_id is None:
                    continue
                day = last
                while day >= today:
                    slot = self._pick(day, manager_id, manager_only=manager_only)
                    if slot is not None:
                        return self._proposal(slot, refill_due)
                    day -= timedelta(days=1)
            after = last + timedelta(days=1)
        else:
            after = today
        day = after
        while day <= limit:
            slot = self._pick(day, manager_id, manager_only=False)
            if slot is not None:
                return self._proposal(slot, refill_due)
            day += timedelta(days=1)
        # Every slot within the booking limit is taken: the working day alone, a person decides.
        day = proposed_booking_date(refill_due, self._first_day(today), self.working)
        return Proposal(day, None, None, late=refill_due is not None and day > refill_due)

    def _first_day(self, today: date) -> date:
        """The first day a proposal without a session slot (booked at DEFAULT_TIME) may take:
        today, unless that time has passed today."""
        if self.now is not None and self.now.date() == today and self.now.time() >= DEFAULT_TIME:
            return today + timedelta(days=1)
        return today

    @staticmethod
    def _proposal(slot: Slot, refill_due: date | None) -> Proposal:
        late = refill_due is not None and slot.day > refill_due
        return Proposal(slot.day, slot.start, slot.member_id, late=late, session_id=slot.session_id)

    def problems(self, day: date, start: time, member_id: int | None) -> list[str]:
        """What a booking on ``day`` at ``start`` with ``member_id`` runs into (codes above).

        The appointment being changed must not be among ``booked``.
        """
        found = []
        if not self.is_working_day(day):
            found.append(NON_WORKING_DAY)
        elif self._full_at(day, start, member_id):
            found.append(FULL_SESSION)
        if self.absent(member_id, day):
            found.append(MEMBER_ABSENT)
        elif member_id is None and self.has_sessions and self.is_working_day(day) and not self.someone_refills(day):
            found.append(NO_REFILLER)
        return found

    def _full_at(self, day: date, start: time, member_id: int | None) -> bool:
        """No slot of the day is free for this booking: none free at its time (the member's
        own or a clinic slot), and none free in the sessions it falls in (none on the day
        when it falls in no session)."""
        sessions = self.sessions_on(day)
        if not sessions:
            return False
        free = self.free_slots(day)

        def usable(slot_member: int | None) -> bool:
            return member_id is None or slot_member is None or slot_member == member_id

        if any(slot.start == start and usable(slot.member_id) for slot in free):
            return False
        covering = [s for s in sessions if s.covers(start) and usable(s.member_id)]
        if not covering:
            return not free
        free_ids = {slot.session_id for slot in free}
        return not any(s.id in free_ids for s in covering)
