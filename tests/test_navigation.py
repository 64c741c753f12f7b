"""Every page a role may use is reachable by links from Today within two clicks (issue 12 item 5).

For each role the test logs in, opens Today, follows every same-site link on it (depth 1),
collects every link on those pages (depth 2), and checks that every GET page of the URLconf
the role may open (tests/url_rules, the permission matrix's rules) is among them. Pages about
one object are reached through real objects: a patient whose pump is empty (so Today names
them) with a booked appointment, and a refill flagged for review. The exceptions are listed
below, each with its reason; a new URL without a rule fails the permission matrix first.
"""

from datetime import time, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.auth.tokens import default_token_generator
from django.urls import Resolver404, resolve, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from clinic.models import Membership
from refills import schedule
from tests.dashboard_data import FROZEN, TODAY, flagged_refill, pump_with_status
from tests.factories import AppointmentFactory, MembershipFactory, ProgramChangeFactory, UserFactory
from tests.url_rules import NOT_ALLOWED, PUBLIC, RANK, all_rules, extra_objects

pytestmark = pytest.mark.django_db

RULES = all_rules()

# GET pages a role may open that are not reached by links from Today, and why.
EXCEPTIONS = {
    "login": "the login page: a logged-in user has no reason to open it and is sent on from it",
    "password_reset_confirm": "reached from the invitation or password email (a signed token), never by a link",
    "two_factor_verify": "a step inside the login flow when two-factor is on (the login sends there)",
    "import_mapping": "a step inside the import flow: needs a file uploaded in the session",
    "import_preview": "a step inside the import flow: needs a file uploaded in the session",
    "import_job": "a step inside the import flow: the upload leads to its background job's page",
    "import_job_status": "the progress of an import job, read by the job's page while it runs",
    "calendar_feed": "a calendar feed token URL, shown once to its owner for a calendar program",
    "unsubscribe": "the unsubscribe token URL in patient emails",
    "health": "JSON for an external monitor and load balancer, not a page people use",
    "favicon": "the browser's icon request, answered with a redirect to the static icon",
    "candidate_from_patient": (
        "referring a patient without a pump for screening: offered on that patient's page, as "
        "pump_create is; tests/screening/test_view_candidate_from_patient.py checks that link"
    ),
    "trial_edit": (
        "correcting a recorded trial: on its summary (Today, Pipeline, trial summary, Edit), checked "
        "by tests/screening/test_view_trial_detail.py"
    ),
    "trial_delete": (
        "deleting a trial recorded in error: on its summary (Pipeline, candidate, trial, Delete), checked "
        "by tests/screening/test_view_trial_delete.py"
    ),
    "candidate_implant_book": (
        "booking a responder's implant: on the candidate's page (Pipeline, candidate, Book the implant), "
        "three clicks for staff; tests/test_view_implant.py checks the link for staff and managers"
    ),
    "pump_create": (
        "a step after an explant: offered on the page of a patient without an implanted pump "
        "(the explant redirects there); test_implant_is_offered_after_an_explant checks that link"
    ),
}


class LinkParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def same_site_links(html: str) -> set[str]:
    """The paths (with query, without fragment) of the page's same-site links."""
    parser = LinkParser()
    parser.feed(html)
    links = set()
    for href in parser.hrefs:
        parts = urlsplit(href)
        if parts.scheme not in ("", "http", "https") or parts.netloc not in ("", "testserver"):
            continue  # tel:, mailto:, other sites
        if not parts.path.startswith("/"):
            continue  # "#main" and other in-page links
        links.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return links


def page_of(link: str):
    """(URL name, kwargs) of a link, or None outside the URLconf."""
    try:
        match = resolve(urlsplit(link).path)
    except Resolver404:
        return None
    return match.view_name, tuple(sorted((k, str(v)) for k, v in match.kwargs.items()))


def walk_from_today(client) -> tuple[dict, set]:
    """The links of Today (depth 1) with each page's status, and every page reached within two clicks."""
    today = client.get("/")
    assert today.status_code == 200
    first = same_site_links(today.content.decode())
    statuses, reached = {}, {page_of(link) for link in first}
    for link in sorted(first):
        response = client.get(link)
        statuses[link] = response.status_code
        if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
            reached |= {page_of(found) for found in same_site_links(response.content.decode())}
    reached.discard(None)
    return statuses, reached


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture
def objects(clinic, manager):
    """Real objects for the URL kwargs: a patient whose pump is empty (named on Today) with a
    refill appointment booked, a refill flagged for review, and what the rules' modules add."""
    pump = pump_with_status(clinic, schedule.EMPTY, mrn="NAV-EMPTY", manager=manager)
    patient = pump.patient
    # Today in the afternoon: upcoming (reschedule, cancel, calendar file) and already markable (no-show).
    appointment = AppointmentFactory(patient=patient, pump=pump, local_date=TODAY, local_time=time(16, 0))
    change = ProgramChangeFactory(pump=pump, performed_on=TODAY - timedelta(days=1))
    invited = UserFactory(username="invited-person")
    membership = MembershipFactory(clinic=clinic, user=invited, role=Membership.Role.STAFF)
    objects = {
        "patient": patient,
        "pump": pump,
        "refill": pump.refills.get(),
        "program_change": change,
        "appointment": appointment,
        "membership": membership,
        "uid": urlsafe_base64_encode(force_bytes(invited.pk)),
        "token": default_token_generator.make_token(invited),
    }
    objects.update(extra_objects(clinic, objects))
    objects["flagged"] = flagged_refill(clinic, mrn="NAV-UNDER")
    return objects


def expected_pages(role: str, objects: dict) -> dict:
    """(URL name, kwargs) -> URL of every GET page ``role`` may open, less the exceptions."""
    pages = {}
    for name, rule in RULES.items():
        if name in EXCEPTIONS or rule.get is NOT_ALLOWED:  # NOT_ALLOWED: POST-only actions (buttons)
            continue
        if rule.get != PUBLIC and RANK[role] < RANK[rule.get]:
            continue
        kwargs = {key: getattr(objects[value], "pk", objects[value]) for key, value in rule.kwargs.items()}
        pages[(name, tuple(sorted((k, str(v)) for k, v in kwargs.items())))] = reverse(name, kwargs=kwargs)
    return pages


@pytest.mark.parametrize("role", ["admin", "manager", "staff"])
def test_every_page_of_a_role_is_within_two_clicks_of_today(client, role, objects, admin_user, manager, staff):
    client.force_login({"admin": admin_user, "manager": manager, "staff": staff}[role])
    statuses, reached = walk_from_today(client)

    missing = {url for page, url in expected_pages(role, objects).items() if page not in reached}
    assert not missing, f"{role}: pages not reachable within two clicks of Today: {sorted(missing)}"
    # Every link Today shows this role opens for it (no link to a refusal).
    refused = {link: status for link, status in statuses.items() if status >= 400}
    assert not refused, f"{role}: links on Today that fail: {refused}"


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_add_patient_is_one_click_from_today(client, role, admin_user, manager):
    client.force_login({"admin": admin_user, "manager": manager}[role])
    links = same_site_links(client.get("/").content.decode())
    assert reverse("patient_create") in links
    assert client.get(reverse("patient_create")).status_code == 200


def test_staff_are_not_offered_add_patient(client, staff):
    client.force_login(staff)
    assert reverse("patient_create") not in same_site_links(client.get("/").content.decode())


def test_implant_is_offered_after_an_explant(client, clinic, manager, objects):
    client.force_login(manager)
    patient = objects["patient_without_pump"]
    links = same_site_links(client.get(reverse("patient_detail", args=[patient.pk])).content.decode())
    assert reverse("pump_create", args=[patient.pk]) in links


def test_no_exception_hides_a_post_only_url():
    """POST-only actions are left out by their rule (buttons, not links); the list names GET pages."""
    post_only = {name for name, rule in RULES.items() if rule.get is NOT_ALLOWED}
    assert not set(EXCEPTIONS) & post_only
