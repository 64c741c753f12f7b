"""Every list page of the demo clinic at a 1366 px laptop and a 390 px phone (issue 14 item 5).

The lists render through one path (clinic/rows.py); this photographs each of them at both
widths under test-artifacts/screenshots/list-<page>-<width>.png, so a change to that path
can be compared with the pictures taken before it, and checks each shows its table.
"""

import pytest

from demo import seeder as demo
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser

LISTS = [
    ("caseload", "/caseload/"),
    ("overdue", "/overdue/"),
    ("replacements", "/replacements/"),
    ("review", "/review/"),
    ("appointments", "/appointments/"),
    ("outbox", "/outbox/"),
    ("audit", "/clinic/audit/"),
    ("members", "/clinic/members/"),
]


@pytest.fixture
def demo_clinic(db):
    demo.create_demo()


def test_every_list_at_a_laptop_and_a_phone(page, demo_clinic):
    login(page, demo.ADMIN, demo.PASSWORD)
    missing = []
    for viewport in ({"width": 1366, "height": 768}, {"width": 390, "height": 844}):
        page.set_viewport_size(viewport)
        for name, url in LISTS:
            response = page.goto(url)
            assert response.status == 200, f"{name}: {url} answered {response.status}"
            if page.locator("table caption").count() == 0 or page.locator("table tbody tr").count() == 0:
                missing.append(f"{name} at {viewport['width']} px")
            screenshot(page, f"list-{name}-{viewport['width']}")
    assert not missing, f"lists without a table: {missing}"
