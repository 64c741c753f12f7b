"""The refill plan page (issue 15) and the monthly accountability report."""

from tests.url_rules import MANAGER, NOT_ALLOWED, STAFF, Rule

RULES = {
    "plan": Rule(STAFF, NOT_ALLOWED),
    "accountability_report": Rule(MANAGER, NOT_ALLOWED),
}
