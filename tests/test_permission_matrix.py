"""Every URL of the project against the role table of SPEC section 6.

The URL list is read from the URLconf, so a new URL without a rule here fails the
test. For each URL and method: anonymous users are sent to log in, a member of
another clinic gets 404 for this clinic's objects, a role below the rule gets 403,
and a role at or above it gets neither.
"""

from datetime import date, time

import pytest
import time_machine
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from clinic.models import Membership
from tests.factories import (
    AppointmentFactory,
    MembershipFactory,
    PatientFactory,
    ProgramChangeFactory,
    PumpFactory,
    RefillFactory,
    UserFactory,
)
from tests.url_rules import ADMIN, MANAGER, NOT_ALLOWED, PUBLIC, RANK, STAFF, Rule, all_rules, extra_objects

RULES = all_rules()


def all_url_names(resolver=None, namespace=""):
    """(name, pattern) of every named URL outside the Django admin."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            yield from all_url_names(entry, namespace + (f"{entry.namespace}:" if entry.namespace else ""))
        elif isinstance(entry, URLPattern):
            yield namespace + (entry.name or f"<unnamed {entry.pattern}>"), entry


def test_every_url_has_a_rule():
    missing = sorted(name for name, _ in all_url_names() if name not in RULES)
    assert not missing, f"URLs without a permission rule in {__file__}: {missing}"


@pytest.fixture
def objects(clinic):
    """One of each clinic-scoped object in clinic A, for URL kwargs."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    patient = PatientFactory(clinic=clinic)
    pump = PumpFactory(patient=patient, implant_date=date(2025, 6, 1))
    refill = RefillFactory(pump=pump, performed_on=date(2025, 6, 1), is_initial_fill=True)
    change = ProgramChangeFactory(pump=pump, performed_on=date(2025, 7, 1))
    appointment = AppointmentFactory(patient=patient, pump=pump, local_date=date(2025, 9, 1), local_time=time(9, 30))
    invited = UserFactory(username="invited-person")
    membership = MembershipFactory(clinic=clinic, user=invited, role=Membership.Role.STAFF)
    objects = {
        "patient": patient,
        "pump": pump,
        "refill": refill,
        "program_change": change,
        "appointment": appointment,
        "membership": membership,
        "uid": urlsafe_base64_encode(force_bytes(invited.pk)),
        "token": default_token_generator.make_token(invited),
    }
    objects.update(extra_objects(clinic, objects))
    return objects


def expected_status(rule: Rule, method: str, actor: str) -> str:
    """'login', '404', '403', 'refused' (403 or 405: never served) or 'ok'."""
    needed = rule.get if method == "GET" else rule.post
    if needed == PUBLIC:
        return "ok"
    if actor == "anonymous":
        return "login" if needed is not NOT_ALLOWED else "login_or_refused"
    if actor == "outsider" and rule.scoped and rule.kwargs:
        # Admin of another clinic: this clinic's objects do not exist for them.
        return "404"
    if needed is NOT_ALLOWED:
        return "refused"
    if actor == "outsider":
        return "ok"  # a page about their own clinic
    return "ok" if RANK[actor] >= RANK[needed] else "403"


CASES = [(name, method) for name in sorted(RULES) for method in ("GET", "POST")]


@pytest.mark.parametrize(("name", "method"), CASES)
@time_machine.travel("2025-10-01 10:00:00Z", tick=False)
def test_permission_matrix(client, name, method, objects, admin_user, manager, staff, outsider):
    rule = RULES[name]
    url = reverse(
        name, kwargs={key: getattr(objects[value], "pk", objects[value]) for key, value in rule.kwargs.items()}
    )
    cast = {"anonymous": None, "outsider": outsider, STAFF: staff, MANAGER: manager, ADMIN: admin_user}
    for actor, user in cast.items():
        client.logout()
        if user is not None:
            client.force_login(user)
        response = client.get(url) if method == "GET" else client.post(url, {})
        expected = expected_status(rule, method, actor)
        where = (name, method, actor, response.status_code)
        if expected == "login":
            assert response.status_code == 302 and reverse("login") in response["Location"], where
        elif expected == "ok":
            assert response.status_code < 400, where
        elif expected == "login_or_refused":
            assert response.status_code == 405 or reverse("login") in response.get("Location", ""), where
        elif expected == "refused":
            assert response.status_code in (403, 405), where
        else:
            assert response.status_code == int(expected), where


@pytest.mark.django_db
def test_admin_site_is_for_superusers_only(client, staff):
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    assert client.get("/admin/").status_code == 302  # sent to the admin login, not served
    superuser = UserFactory(username="root-admin", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/patients/patient/").status_code == 200
