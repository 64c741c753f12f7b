"""The top navigation in the browser: one line at a 1366 px laptop, one "Menu" at a 390 px
phone, menus that open with the mouse and the keyboard, with and without JavaScript, and
close on Escape and outside clicks (static/js/nav.js). Screenshots under
test-artifacts/screenshots/nav-*.png.
"""

import re

import pytest

from clinic.models import Membership
from tests.browser.conftest import login, screenshot, serious_violations
from tests.factories import ClinicFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def admin(db):
    """An admin (the most links) with a long name, as the account area shows it."""
    clinic = ClinicFactory(slug="north", name="North Pump Clinic", time_zone="Europe/London")
    user = UserFactory(username="alice-admin", first_name="Maximiliana", last_name="Featherstonehaugh")
    MembershipFactory(clinic=clinic, user=user, role=Membership.Role.ADMIN)
    return user


def menu(page, name):
    return page.get_by_role("navigation", name="Main").locator("summary", has_text=re.compile(rf"^{name}$"))


def is_open(page, name) -> bool:
    return menu(page, name).evaluate("(s) => s.parentElement.open")


def test_one_line_at_1366_and_menus_open_and_close(page, admin):
    failed = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.set_viewport_size(LAPTOP)
    login(page, "alice-admin")
    nav = page.get_by_role("navigation", name="Main")
    tops = page.locator(".nav > li > a, .nav > li > details > summary").evaluate_all(
        "(items) => items.map((item) => Math.round(item.getBoundingClientRect().top))"
    )
    assert len(tops) == 9 and len(set(tops)) == 1, f"the navigation is not one line at 1366 px: item tops {tops}"
    assert not menu(page, "Menu").is_visible()  # the phone's button
    assert nav.get_by_role("link", name="Today").is_visible()
    assert nav.get_by_role("link", name="Overdue").count() == 0  # inside the closed Lists menu
    assert not failed, f"requests failed (the favicon?): {failed}"

    # Mouse: open Lists, then Admin closes it (one menu at a time); a click outside closes Admin.
    menu(page, "Lists").click()
    assert nav.get_by_role("link", name="Overdue").is_visible()
    screenshot(page, "nav-lists-open-1366")
    assert serious_violations(page) == []
    menu(page, "Admin").click()
    assert not is_open(page, "Lists") and is_open(page, "Admin")
    page.locator("main h1").click()
    assert not is_open(page, "Admin")

    # Keyboard: Enter on the focused summary opens, Tab reaches its links, Escape closes and
    # gives the focus back to the summary.
    menu(page, "Planning").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Plan"
    page.keyboard.press("Escape")
    assert not is_open(page, "Planning")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Planning"
    # Tabbing out of an open menu closes it.
    page.keyboard.press("Enter")
    for _ in range(5):
        page.keyboard.press("Tab")
    assert not is_open(page, "Planning")

    # The link inside a menu goes to its page, which marks the link and its menu.
    menu(page, "Reports").click()
    nav.get_by_role("link", name="Monthly report").click()
    page.wait_for_url(re.compile(r"/reports/monthly/"))
    assert menu(page, "Reports").get_attribute("aria-current") == "true"
    menu(page, "Reports").click()
    assert nav.get_by_role("link", name="Monthly report").get_attribute("aria-current") == "page"


def test_one_menu_at_390(page, admin):
    page.set_viewport_size(PHONE)
    login(page, "alice-admin")
    nav = page.get_by_role("navigation", name="Main")
    assert menu(page, "Menu").is_visible()
    assert nav.get_by_role("link", name="Today").count() == 0  # everything is inside Menu
    header = page.locator(".topbar").bounding_box()
    assert header["height"] < 200, f"the header takes {header['height']} px of the phone's screen"
    screenshot(page, "nav-menu-closed-390")

    menu(page, "Menu").click()
    today = nav.get_by_role("link", name="Today")
    box = today.bounding_box()
    assert today.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["height"] >= 40, "a touch target of at least 40 px"
    menu(page, "Lists").click()
    overdue = nav.get_by_role("link", name="Overdue")
    assert overdue.is_visible()
    screenshot(page, "nav-menu-lists-open-390")
    assert serious_violations(page) == []
    page.keyboard.press("Escape")  # the focus is on Lists: it closes, the Menu stays open
    assert not is_open(page, "Lists") and is_open(page, "Menu")
    page.keyboard.press("Escape")
    assert not is_open(page, "Menu")

    menu(page, "Menu").click()
    menu(page, "Lists").click()
    nav.get_by_role("link", name="Overdue").click()
    page.wait_for_url(re.compile(r"/overdue/$"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_menus_work_without_javascript(browser, live_server, admin):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, viewport=LAPTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login(page, "alice-admin")
        menu(page, "Planning").click()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Book the week").click()
        page.wait_for_url(re.compile(r"/book-the-week/$"))
        page.set_viewport_size(PHONE)
        menu(page, "Menu").click()
        menu(page, "Admin").click()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
        page.wait_for_url(re.compile(r"/clinic/members/$"))
    finally:
        context.close()
