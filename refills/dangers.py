"""The patients who need action today, most dangerous first (SPEC 8, issue 12 item 4).

Today names them above its counts and the patient page shows a banner for its own: an
empty, alarming or overdue pump, a refill booked after refill due, and a flagged
under-delivery (more left than expected at a refill: withdrawal risk) awaiting review.
Each item says what it is in words, how long, and the one next action for the user's role.

The list is read in two bounded queries whatever the caseload: one for the pumps and one
for the flagged refills, each at most ``DANGER_LIMIT`` rows. Today's cached counts say
which danger classes fill the list, so the pump query reads only those through their
index (the same narrowing as dashboard.views.urgent_pages).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Case, F, Q, When
from django.urls import reverse
from django.utils import formats
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clinic.access import scoped
from patients.models import Pump
from patients.querysets import booking_expression, status_expression, status_rank_expression
from refills import schedule
from refills.models import Refill

DANGER_LIMIT = 25

EMPTY, ALARMING, OVERDUE = schedule.EMPTY, schedule.ALARMING, schedule.OVERDUE
BOOKED_LATE = "booked_late"
UNDER_DELIVERY = "under_delivery"
# Most dangerous first; the order of the list and of its "more" links.
KINDS = (EMPTY, ALARMING, OVERDUE, BOOKED_LATE, UNDER_DELIVERY)
KIND_LABELS = {
    EMPTY: "Empty",
    ALARMING: "Alarming",
    OVERDUE: "Overdue",
    BOOKED_LATE: "Booked late",
    UNDER_DELIVERY: "Under-delivery",
}
# Today's count keys (dashboard.views.today_counts) of each kind.
COUNT_KEYS = {
    EMPTY: "empty",
    ALARMING: "alarming",
    OVERDUE: "overdue",
    BOOKED_LATE: "booked_late_only",
    UNDER_DELIVERY: "under_delivery",
}


def booked_late_only_q(today: date) -> Q:
    """Booked after refill due, and neither empty, alarming nor overdue (those are listed as such).

    Exact for the stored dates (due_soon_from <= refill_due <= alarm_date <= empty_date).
    """
    return Q(first_refill_booking__gt=F("refill_due"), refill_due__gte=today, alarm_date__gt=today)


def urgent_q(today: date) -> Q:
    """Empty, alarming or overdue; the refill_due bound is implied and lets its index find them."""
    return Q(refill_due__lte=today) & (Q(refill_due__lt=today) | Q(alarm_date__lte=today))


def under_delivery_q() -> Q:
    """A refill awaiting review whose residual was more than expected (SPEC 3: withdrawal risk)."""
    return Q(needs_review=True, residual_discrepancy_ml__gt=0)


def long_date(day: date | None) -> str:
    return formats.date_format(day, "DATE_FORMAT") if day else ""


def days_text(n: int) -> str:
    return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}


@dataclass(frozen=True)
class Action:
    """The one next thing to do about an item: a link (a page, or tel: to call)."""

    label: str
    url: str
    kind: str  # refill, book, call, review


@dataclass(frozen=True)
class DangerItem:
    kind: str
    patient: object
    pump: object
    detail: str  # how long, in words: "empty for 13 days"
    action: Action
    refill: Refill | None = None

    @property
    def label(self) -> str:
        return _(KIND_LABELS[self.kind])

    @property
    def tone(self) -> str:
        """The badge colour class: the status colours of the lists."""
        return {BOOKED_LATE: "late", UNDER_DELIVERY: "under_delivery"}.get(self.kind, self.kind)


def book_url(patient_id: int, day: date | None = None) -> str:
    query = {"kind": "refill", **({"date": day.isoformat()} if day else {})}
    return f"{reverse('appointment_create', kwargs={'pk': patient_id})}?{urlencode(query)}"


def review_url(refill) -> str:
    return f"{reverse('review')}#refill-{refill.pk}"


def pump_action(pump, kind: str, *, may_record: bool, booking_day: date) -> Action:
    """Record the refill (those who may) for an empty or alarming pump; else book it, or call
    the patient when a refill is already booked on time (its day has passed unmarked)."""
    patient = pump.patient
    if kind in (EMPTY, ALARMING) and may_record:
        return Action(_("Record refill"), reverse("refill_create", kwargs={"pk": pump.pk}), "refill")
    if kind == BOOKED_LATE:
        # Refill due is still ahead: the booking form proposes a day on or before it.
        return Action(_("Book earlier"), book_url(patient.pk), "book")
    if pump.booking == schedule.BOOKED and patient.phone:
        return Action(_("Call"), f"tel:{patient.phone}", "call")
    if pump.booking == schedule.BOOKED_LATE and getattr(pump, "first_refill_booking", None):
        # An empty, alarming or overdue pump already booked (pump_detail says when): the
        # booking page offers to move that refill.
        return Action(_("Book earlier"), book_url(patient.pk), "book")
    return Action(_("Book refill"), book_url(patient.pk, booking_day), "book")


def pump_detail(pump, kind: str, today: date) -> str:
    text = _pump_detail(pump, kind, today)
    if kind in (EMPTY, ALARMING, OVERDUE) and getattr(pump, "first_refill_booking", None):
        text += _("; booked %(day)s") % {"day": long_date(pump.first_refill_booking)}
        if pump.refill_due and pump.first_refill_booking > pump.refill_due:
            text += _(", after refill due (late)")
    return text


def _pump_detail(pump, kind: str, today: date) -> str:
    if kind == EMPTY:
        days = (today - pump.empty_date).days
        if days == 0:
            return _("empty since today")
        return _("empty for %(days)s, since %(day)s") % {"days": days_text(days), "day": long_date(pump.empty_date)}
    if kind == ALARMING:
        days = (pump.empty_date - today).days
        return _("empty in %(days)s, on %(day)s") % {"days": days_text(days), "day": long_date(pump.empty_date)}
    if kind == OVERDUE:
        days = (today - pump.refill_due).days
        return ngettext("%(n)d day overdue", "%(n)d days overdue", days) % {"n": days}
    days = (pump.first_refill_booking - pump.refill_due).days
    return _("booked %(day)s, %(days)s after refill due") % {
        "day": long_date(pump.first_refill_booking),
        "days": days_text(days),
    }


def pump_kind(pump) -> str:
    return pump.status_now if pump.status_now in (EMPTY, ALARMING, OVERDUE) else BOOKED_LATE


def refill_detail(refill) -> str:
    return _("%(diff)s mL more left than expected at the refill of %(day)s") % {
        "diff": signed_ml(refill.residual_discrepancy_ml),
        "day": long_date(refill.performed_on),
    }


def signed_ml(value: Decimal) -> str:
    text = f"{Decimal(value).normalize():f}"
    return f"+{text}" if value > 0 else text


PUMP_FIELDS = (
    "patient_id",
    "empty_date",
    "alarm_date",
    "refill_due",
    "first_refill_booking",
    *(f"patient__{name}" for name in ("mrn", "first_name", "last_name", "phone", "high_risk")),
)


def danger_order(pump, today: date) -> tuple:
    """Most dangerous first: by kind, then the longest empty, the soonest to run empty, the
    longest overdue (or the earliest due), high risk first among equals, then MRN."""
    kind = pump_kind(pump)
    within = pump.empty_date if kind in (EMPTY, ALARMING) else pump.refill_due
    return (KINDS.index(kind), within, not pump.patient.high_risk, pump.patient.mrn)


def danger_pumps(clinic, today: date, counts: dict, manager=None):
    """The most dangerous pumps, at most DANGER_LIMIT, in one query that reads about as many rows.

    ``counts`` are Today's (for ``manager``'s patients when given) and say which step is
    enough. When the empty pumps alone fill the list, the empty_date index gives the longest
    empty first; when the empty and alarming ones do, the same order puts every empty pump
    (empty_date <= today) before every alarming one (empty_date > today). When the overdue
    pumps are needed too, the few empty and alarming ones and the overdue ones are sorted.
    Only when fewer urgent pumps than the list's length exist are the pumps booked late read:
    by refill due, every urgent pump (refill due <= today, alarm date first on a tie) comes
    before every pump booked late (refill due >= today, alarm date > today). The rows are
    then put in danger_order (the same order, with the patient's tie-breaks).
    """
    prefix = "my_" if manager is not None else ""
    empty, alarming, overdue = (counts.get(prefix + key, 0) for key in ("empty", "alarming", "overdue"))
    by_status = (
        "status_rank",
        Case(When(alarm_date__lte=today, then=F("empty_date")), default=F("refill_due")).asc(),
        "pk",
    )
    where, order = urgent_q(today) | booked_late_only_q(today), ("refill_due", "alarm_date", "pk")
    for found, q, step_order in (
        (empty, Q(empty_date__lte=today), ("empty_date", "pk")),
        (empty + alarming, Q(alarm_date__lte=today), ("empty_date", "pk")),
        (empty + alarming + overdue, urgent_q(today), by_status),
    ):
        if found >= DANGER_LIMIT:
            where, order = q, step_order
            break
    pumps = scoped(Pump.objects.active(), clinic).filter(where)
    if manager is not None:
        pumps = pumps.filter(patient__manager=manager)
    # Only what the list shows: the status and booking expressions, no next-appointment subqueries.
    pumps = pumps.annotate(status_now=status_expression(today), booking=booking_expression())
    if order is by_status:
        pumps = pumps.annotate(status_rank=status_rank_expression(today))
    pumps = pumps.select_related("patient").only(*PUMP_FIELDS)
    rows = list(pumps.order_by(*order)[:DANGER_LIMIT])
    return sorted(rows, key=lambda pump: danger_order(pump, today))


def under_deliveries(clinic, manager=None):
    """Refills awaiting review with more left than expected, oldest first (as the review list)."""
    refills = scoped(Refill.objects.filter(under_delivery_q()), clinic)
    if manager is not None:
        refills = refills.filter(pump__patient__manager=manager)
    fields = ("performed_on", "residual_discrepancy_ml", "pump__patient_id", *(f"pump__{f}" for f in PUMP_FIELDS))
    refills = refills.select_related("pump__patient").only(*fields)
    return list(refills.order_by("performed_on", "pk")[:DANGER_LIMIT])


def danger_items(clinic, today: date, counts: dict, *, may_record: bool, booking_day: date, manager=None):
    """The items of Today's action list, most dangerous first, at most DANGER_LIMIT."""
    items = []
    for pump in danger_pumps(clinic, today, counts, manager):
        kind = pump_kind(pump)
        items.append(
            DangerItem(
                kind,
                pump.patient,
                pump,
                pump_detail(pump, kind, today),
                pump_action(pump, kind, may_record=may_record, booking_day=booking_day),
            )
        )
    for refill in under_deliveries(clinic, manager):
        # Staff cannot acknowledge a review: they open it to see what was found.
        action = Action(_("Review") if may_record else _("See the review"), review_url(refill), "review")
        items.append(
            DangerItem(UNDER_DELIVERY, refill.pump.patient, refill.pump, refill_detail(refill), action, refill)
        )
    return items[:DANGER_LIMIT]


@dataclass(frozen=True)
class MoreLink:
    count: int
    label: str
    url: str


def more_links(items, counts: dict, manager=None) -> list[MoreLink]:
    """Where the items not shown are, with how many of each kind: the lists that hold them."""
    prefix = "my_" if manager is not None else ""
    scope = {"manager": manager.pk} if manager is not None else {}
    shown = {kind: sum(1 for item in items if item.kind == kind) for kind in KINDS}
    hidden = {kind: max(counts.get(prefix + COUNT_KEYS[kind], 0) - shown[kind], 0) for kind in KINDS}
    links = []
    urgent = hidden[EMPTY] + hidden[ALARMING] + hidden[OVERDUE]
    if urgent:
        url = reverse("overdue") if manager is None else f"{reverse('caseload')}?{urlencode(scope)}"
        where = _("in the overdue worklist") if manager is None else _("in your caseload")
        links.append(MoreLink(urgent, _("empty, alarming or overdue %(where)s") % {"where": where}, url))
    if hidden[BOOKED_LATE]:
        query = urlencode({"booking": schedule.BOOKED_LATE, **scope})
        links.append(MoreLink(hidden[BOOKED_LATE], _("booked after refill due"), f"{reverse('caseload')}?{query}"))
    if hidden[UNDER_DELIVERY]:
        url = reverse("review") + (f"?{urlencode(scope)}" if scope else "")
        links.append(MoreLink(hidden[UNDER_DELIVERY], _("under-deliveries awaiting review"), url))
    return links


def total_items(counts: dict, manager=None) -> int:
    prefix = "my_" if manager is not None else ""
    return sum(counts.get(prefix + COUNT_KEYS[kind], 0) for kind in KINDS)


# The patient page's banner ------------------------------------------------------------


@dataclass(frozen=True)
class Banner:
    tone: str  # empty, alarming, overdue, under_delivery, over_delivery
    heading: str
    message: str
    action: Action | None


def patient_banners(pump, refills, today: date, *, may_record: bool, booking_day: date) -> list[Banner]:
    """What the patient page must say at its top: the pump's danger and each refill awaiting review."""
    banners = []
    if pump is not None and pump.status_now in (EMPTY, ALARMING, OVERDUE):
        banners.append(pump_banner(pump, today, may_record=may_record, booking_day=booking_day))
    for refill in sorted((r for r in refills if r.needs_review), key=lambda r: (r.performed_on, r.pk)):
        banners.append(review_banner(refill, may_review=may_record))
    return banners


def pump_banner(pump, today: date, *, may_record: bool, booking_day: date) -> Banner:
    kind = pump.status_now
    phone = pump.patient.phone
    call = _("call the patient today (%(phone)s)") % {"phone": phone} if phone else _("call the patient today")
    if kind == EMPTY:
        heading = _("Pump projected EMPTY since %(day)s.") % {"day": long_date(pump.empty_date)}
        message = _("Withdrawal risk: %(call)s and refill, or send them to the emergency department.") % {"call": call}
    elif kind == ALARMING:
        heading = _("Pump ALARMING since %(day)s: projected empty on %(empty)s.") % {
            "day": long_date(pump.alarm_date),
            "empty": long_date(pump.empty_date),
        }
        message = _("Below the alarm volume: %(call)s and refill before %(empty)s.") % {
            "call": call,
            "empty": long_date(pump.empty_date),
        }
    else:
        days = (today - pump.refill_due).days
        heading = _("Refill OVERDUE since %(day)s (%(days)s).") % {
            "day": long_date(pump.refill_due),
            "days": days_text(days),
        }
        if pump.booking == schedule.BOOKED_LATE:
            message = _("A refill is booked on %(day)s, after refill due: book it earlier.") % {
                "day": long_date(pump.first_refill_booking)
            }
        elif pump.booking == schedule.BOOKED:
            message = _("A refill was booked on %(day)s and not recorded: call the patient and rebook.") % {
                "day": long_date(pump.first_refill_booking)
            }
        else:
            message = _("No refill is booked: book one now.")
    return Banner(kind, heading, message, pump_action(pump, kind, may_record=may_record, booking_day=booking_day))


def review_banner(refill, *, may_review: bool) -> Banner:
    diff = refill.residual_discrepancy_ml or Decimal(0)
    under = diff > 0
    heading = _("Refill of %(day)s awaiting review: discrepancy %(diff)s mL, %(what)s than expected.") % {
        "day": long_date(refill.performed_on),
        "diff": signed_ml(diff),
        "what": _("more left") if under else _("less left"),
    }
    message = _(schedule.discrepancy_meaning(diff))
    message += " " + (
        _("Acknowledge it with a note of what was checked.")
        if may_review
        else _("A pump manager reviews it; tell them if the patient has symptoms.")
    )
    action = Action(_("Review") if may_review else _("See the review"), review_url(refill), "review")
    return Banner(UNDER_DELIVERY if under else "over_delivery", heading, message, action)
