"""Accounts and clinic administration URLs."""

from tests.url_rules import ADMIN, NOT_ALLOWED, PUBLIC, STAFF, Rule

RULES = {
    "favicon": Rule(PUBLIC, NOT_ALLOWED, scoped=False),
    # Accounts
    "login": Rule(PUBLIC, PUBLIC, scoped=False),
    "logout": Rule(NOT_ALLOWED, PUBLIC, scoped=False),
    "password_reset_confirm": Rule(PUBLIC, PUBLIC, {"uidb64": "uid", "token": "token"}, scoped=False),
    "two_factor_setup": Rule(STAFF, STAFF, scoped=False),
    "two_factor_verify": Rule(STAFF, STAFF, scoped=False),
    # Clinic
    "switch_clinic": Rule(NOT_ALLOWED, STAFF, scoped=False),
    "members": Rule(ADMIN, ADMIN),
    "membership_update": Rule(NOT_ALLOWED, ADMIN, {"pk": "membership"}),
    "membership_remove": Rule(NOT_ALLOWED, ADMIN, {"pk": "membership"}),
    "clinic_settings": Rule(ADMIN, ADMIN),
    "audit_log": Rule(ADMIN, NOT_ALLOWED),
}
