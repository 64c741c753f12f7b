"""Fill event forms (managers) and appointments (staff)."""

from tests.url_rules import MANAGER, NOT_ALLOWED, STAFF, Rule

RULES = {
    "refill_create": Rule(MANAGER, MANAGER, {"pk": "pump"}),
    "program_change_create": Rule(MANAGER, MANAGER, {"pk": "pump"}),
    "appointments": Rule(STAFF, NOT_ALLOWED),
    "appointment_create": Rule(STAFF, STAFF, {"pk": "patient"}),
    "appointment_edit": Rule(STAFF, STAFF, {"pk": "appointment"}),
    # GET: the confirmation page (cancel and no-show cannot be undone); POST with confirm=yes does it.
    "appointment_cancel": Rule(STAFF, STAFF, {"pk": "appointment"}),
    "appointment_complete": Rule(NOT_ALLOWED, STAFF, {"pk": "appointment"}),
    "appointment_no_show": Rule(STAFF, STAFF, {"pk": "appointment"}),
}
