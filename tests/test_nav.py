"""The top navigation's links per role, its current-page marks, and the favicon.

The grouped navigation (Lists, Planning, Reports, Admin disclosure menus) must offer each role
exactly the links the flat list offered before it; the link of the current page carries
aria-current="page" and the menu that holds it aria-current="true". The favicon is a static
SVG that every page links and the static files serve.
"""

import http.client
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.http import HttpResponseNotFound
from django.templatetags.static import static
from django.test import RequestFactory
from django.urls import reverse
from whitenoise.middleware import WhiteNoiseMiddleware

pytestmark = pytest.mark.django_db

# The flat navigation's links before the grouping, per role (by URL name).
EVERY_MEMBER = {
    "home",
    "caseload",
    "worklist",
    "overdue",
    "replacements",
    "review",
    "appointments",
    "plan",
    "pipeline",
    "book_week",
    "absences",
    "accountability_report",
    "outbox",
    "calendar_feeds",
}
MANAGER_MORE = {"patient_create"}
ADMIN_MORE = {"import_caseload", "members", "sessions", "clinic_settings", "audit_log"}
LINKS_BEFORE = {
    "staff": EVERY_MEMBER,
    "manager": EVERY_MEMBER | MANAGER_MORE,
    "admin_user": EVERY_MEMBER | MANAGER_MORE | ADMIN_MORE,
}


class MainNav(HTMLParser):
    """The hrefs of <nav aria-label="Main">, which link is aria-current, which summary is."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # > 0 inside the main nav
        self.hrefs = []
        self.current_links = []
        self.current_summaries = []
        self.summaries = []
        self._summary = None  # the open summary's aria-current ("" for none)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav" and attrs.get("aria-label") == "Main":
            self.depth = 1
            return
        if not self.depth:
            return
        if tag == "nav":
            self.depth += 1
        if tag == "a":
            self.hrefs.append(attrs["href"])
            if attrs.get("aria-current") == "page":
                self.current_links.append(attrs["href"])
        if tag == "summary":
            self._summary = attrs.get("aria-current") or ""
            self.summaries.append("")

    def handle_data(self, data):
        if self._summary is not None:
            self.summaries[-1] += data

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if tag == "summary":
            label = self.summaries[-1].strip()
            self.summaries[-1] = label
            if self._summary == "true":
                self.current_summaries.append(label)
            self._summary = None
        if tag == "nav":
            self.depth -= 1


def main_nav(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    parser = MainNav()
    parser.feed(response.content.decode())
    return parser


@pytest.mark.parametrize("who", ["staff", "manager", "admin_user"])
def test_each_role_sees_exactly_the_links_it_saw_before(client, request, who):
    client.force_login(request.getfixturevalue(who))
    nav = main_nav(client, reverse("home"))
    assert len(nav.hrefs) == len(set(nav.hrefs)), f"a link appears twice: {nav.hrefs}"
    assert set(nav.hrefs) == {reverse(name) for name in LINKS_BEFORE[who]}


@pytest.mark.parametrize(
    ("who", "menus"),
    [
        ("staff", ["Menu", "Lists", "Planning", "Reports"]),
        ("manager", ["Menu", "Lists", "Planning", "Reports"]),
        ("admin_user", ["Menu", "Lists", "Planning", "Reports", "Admin"]),
    ],
)
def test_the_menus_of_each_role(client, request, who, menus):
    """Staff and managers have no Admin menu; the phone's Menu holds everything."""
    client.force_login(request.getfixturevalue(who))
    assert main_nav(client, reverse("home")).summaries == menus


@pytest.mark.parametrize(
    ("url_name", "menu"),
    [
        ("home", None),
        ("caseload", None),
        ("worklist", None),
        ("pipeline", None),
        ("overdue", "Lists"),
        ("replacements", "Lists"),
        ("review", "Lists"),
        ("appointments", "Lists"),
        ("plan", "Planning"),
        ("book_week", "Planning"),
        ("absences", "Planning"),
        ("sessions", "Planning"),
        ("accountability_report", "Reports"),
        ("outbox", "Reports"),
        ("calendar_feeds", "Reports"),
        ("members", "Admin"),
        ("clinic_settings", "Admin"),
        ("audit_log", "Admin"),
        ("import_caseload", "Admin"),
    ],
)
def test_the_current_page_and_its_menu_are_marked(client, admin_user, url_name, menu):
    client.force_login(admin_user)
    nav = main_nav(client, reverse(url_name))
    assert nav.current_links == [reverse(url_name)]
    assert nav.current_summaries == ([menu] if menu else [])


def test_a_page_inside_a_menu_marks_the_menu_only(client, admin_user):
    """A page under a menu that is not itself a link (recording an absence) marks its menu."""
    client.force_login(admin_user)
    nav = main_nav(client, reverse("absence_create"))
    assert nav.current_links == [] and nav.current_summaries == ["Planning"]


def test_the_menus_are_native_disclosures_with_a_script_that_only_enhances(client, staff):
    client.force_login(staff)
    html = client.get(reverse("home")).content.decode()
    nav = html[html.index('<nav aria-label="Main">') : html.index("</nav>")]
    assert nav.count("<details") == nav.count("</details>") == 4  # Menu, Lists, Planning, Reports
    assert re.search(r'<script src="/static/js/nav\.js" defer></script>', html)
    assert finders.find("js/nav.js")


def test_every_page_links_the_favicon(client, staff):
    href = static("img/favicon.svg")
    tag = f'<link rel="icon" href="{href}" type="image/svg+xml">'
    assert tag in client.get(reverse("login")).content.decode()  # logged out
    client.force_login(staff)
    assert tag in client.get(reverse("home")).content.decode()
    assert tag in client.get("/no-such-page/").content.decode()  # the error pages too


def test_the_favicon_is_a_small_svg_in_the_static_files():
    path = finders.find("img/favicon.svg")
    assert path, "static/img/favicon.svg is missing"
    with open(path, encoding="utf-8") as svg:
        text = svg.read()
    assert text.lstrip().startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in text
    assert len(text.encode()) < 2048
    assert "<script" not in text


def test_the_favicon_is_served(live_server, django_db_serialized_rollback):
    """Served by the static files as runserver serves them (the live server does the same).
    With serialized rollback as every live-server test here: a plain transactional test's
    flush re-creates the content types, which the next serialized test then cannot restore."""
    url = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        connection.request("GET", static("img/favicon.svg"))
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type").startswith("image/svg+xml")
        assert response.read().lstrip().startswith(b"<svg")
    finally:
        connection.close()


def test_whitenoise_serves_the_favicon_in_production(settings, tmp_path):
    """collectstatic with production's storage, then whitenoise serves the hashed name the page links."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--no-input", verbosity=0)
    href = static("img/favicon.svg")
    assert re.fullmatch(r"/static/img/favicon\.[0-9a-f]{12}\.svg", href), href
    middleware = WhiteNoiseMiddleware(get_response=lambda request: HttpResponseNotFound())
    response = middleware(RequestFactory().get(href))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert b"".join(response.streaming_content).lstrip().startswith(b"<svg")


def test_favicon_ico_leads_to_the_icon(client):
    """Browsers and tools that ask for /favicon.ico without reading the page's link get the icon."""
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == static("img/favicon.svg")
    assert client.post("/favicon.ico").status_code == 405
