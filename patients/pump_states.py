"""The words for a pump's state on a date: its status and its booking.

Pure constants, no Django. The pump's stored dates (patients.models.Pump) are compared
with today in SQL (patients.querysets) and by the schedule engine (refills.schedule),
and both speak these names, so they live with the record, below the engine.
"""

# Status names, most severe first; the order is the caseload's default sort.
EMPTY = "empty"
ALARMING = "alarming"
OVERDUE = "overdue"
DUE_SOON = "due_soon"
OK = "ok"
NO_FILL = "no_fill"  # a pump with no fill recorded: nothing can be projected
STATUS_SEVERITY = {EMPTY: 0, ALARMING: 1, OVERDUE: 2, NO_FILL: 3, DUE_SOON: 4, OK: 5}

# The booking state: the earliest scheduled refill on or before refill due, after it, or none.
BOOKED = "booked"
BOOKED_LATE = "late"
UNBOOKED = "unbooked"
