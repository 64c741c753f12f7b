"""Every date field says its date in words beside it (static/js/date-words.js): the browser shows
a date input in its own locale's numeric form, which reads 2 March or February 3 by country."""

import pytest

from clinic.models import Membership
from tests.browser.conftest import login, screenshot
from tests.factories import ClinicFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def admin(db):
    clinic = ClinicFactory(slug="north", name="North Pump Clinic", time_zone="Europe/London")
    user = UserFactory(username="alice-admin")
    MembershipFactory(clinic=clinic, user=user, role=Membership.Role.ADMIN)
    return user


@pytest.mark.parametrize("width", [1366, 390])
def test_a_date_field_says_its_date_in_words(page, admin, live_server, width):
    page.set_viewport_size({"width": width, "height": 844})
    login(page, "alice-admin")
    page.goto(f"{live_server.url}/clinic/absences/new/")
    first = page.locator('input[type="date"]').first
    words = page.locator(f"#{first.get_attribute('id')}-words")
    assert words.text_content() == ""  # nothing entered yet
    first.fill("2027-03-02")
    assert words.text_content() == "Tue 2 Mar 2027"
    assert words.get_attribute("id") in first.get_attribute("aria-describedby")
    screenshot(page, f"date-words-{width}")
    first.fill("2027-02-03")
    assert words.text_content() == "Wed 3 Feb 2027"
    first.fill("")
    assert words.text_content() == ""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
