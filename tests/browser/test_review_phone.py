"""The review list at a 390 px phone: each refill is a card, no sideways scroll, and the
Difference and what it may mean come first after the patient (the under-delivery numbers
are what the page is for). Photographed under test-artifacts/screenshots/review-390.png."""

import pytest

from demo import seeder as demo
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo_clinic(db):
    demo.create_demo()  # two refills await review


def test_review_rows_stack_as_cards_with_the_difference_first(page, demo_clinic):
    login(page, demo.MANAGER, demo.PASSWORD)
    page.set_viewport_size(PHONE)
    page.goto("/review/")
    screenshot(page, "review-390")
    scroll = page.evaluate(
        """() => Math.max(document.documentElement.scrollWidth - window.innerWidth,
            ...[...document.querySelectorAll('.table-wrap')].map((w) => w.scrollWidth - w.clientWidth))"""
    )
    assert scroll <= 0, f"the review list scrolls sideways by {scroll} px"
    rows = page.locator("table.review tbody tr")
    assert rows.count() == 2
    for index in range(rows.count()):
        row = rows.nth(index)
        patient = row.locator("th").bounding_box()
        difference = row.locator('td[data-label="Difference (mL)"]')
        meaning = row.locator('td[data-label="What it may mean"]').bounding_box()
        pump = row.locator('td[data-label="Pump"]').bounding_box()
        box = difference.bounding_box()
        # On screen, whole, without scrolling sideways; its value reads beside its label.
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        assert difference.locator("strong").is_visible()
        # The patient (name and MRN on two lines, not one letter per line), then the
        # Difference, then its meaning, then the rest.
        assert patient["height"] < 100, patient
        assert patient["y"] < box["y"] < meaning["y"] < pump["y"]
        note = row.locator("textarea").bounding_box()
        assert note["x"] >= 0 and note["x"] + note["width"] <= PHONE["width"], note
