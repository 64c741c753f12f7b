"""The refill plan page (issue 15) and the monthly accountability report."""

from tests.url_rules import NOT_ALLOWED, STAFF, Rule

RULES = {
    "plan": Rule(STAFF, NOT_ALLOWED),
    "accountability_report": Rule(STAFF, NOT_ALLOWED),
}
