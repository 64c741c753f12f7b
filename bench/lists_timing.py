"""Time the list pages on a small SQLite database with invented data (not a test).

Renders the caseload and overdue pages (50 rows each) and the review list (50 rows) N times
each through Django's test client, and exports the caseload as CSV, and prints the median
and p95 in ms. A light stand-in
for ``make bench`` (which seeds 100,000 pumps on PostgreSQL) when the machine is shared:

    .venv/bin/python bench/lists_timing.py [repeat=200]

The database is a temporary file, created, migrated, seeded and deleted by the script.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB = Path(tempfile.mkdtemp(prefix="lists-timing-")) / "db.sqlite3"
os.environ["DATABASE_URL"] = f"sqlite:///{DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
os.environ.setdefault("SECRET_KEY", "lists-timing-only-not-a-real-key-0123456789")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

import django  # noqa: E402

django.setup()

import time_machine  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

PAGES = {"caseload": "/caseload/", "overdue": "/overdue/", "review": "/review/"}
# The whole caseload as CSV (every pump, about 160 rows here): the exports' cell path.
EXPORTS = {"caseload CSV": "/caseload/?_export=csv"}


def seed():
    from clinic.models import Membership
    from refills import schedule
    from tests.dashboard_data import FROZEN, flagged_refill, pump_with_status
    from tests.factories import ClinicFactory, MembershipFactory, UserFactory

    with time_machine.travel(FROZEN, tick=False):
        clinic = ClinicFactory(slug="north", name="North Pump Clinic", time_zone="Europe/London")
        manager = MembershipFactory(
            clinic=clinic, role=Membership.Role.MANAGER, user=UserFactory(username="mark-manager")
        ).user
        for index in range(20):
            MembershipFactory(clinic=clinic, role=Membership.Role.STAFF, user=UserFactory(username=f"staff-{index}"))
        for status, count in (
            (schedule.EMPTY, 20),
            (schedule.ALARMING, 20),
            (schedule.OVERDUE, 30),
            (schedule.DUE_SOON, 20),
            (schedule.OK, 20),
        ):
            for index in range(count):
                pump_with_status(clinic, status, manager=manager, high_risk=index % 4 == 0)
        for _ in range(55):
            flagged_refill(clinic, manager=manager)
    return manager


def main(repeat: int) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # seeding speed only
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    manager = seed()
    print(f"seeded in {time.perf_counter() - started:.1f} s")
    from tests.dashboard_data import FROZEN

    client = Client()
    client.force_login(manager)
    with time_machine.travel(FROZEN, tick=True):
        for name, url in {**PAGES, **EXPORTS}.items():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            text = response.content.decode()
            rows = text.count("\n") - 1 if name in EXPORTS else text.count("<tr ") + text.count("<tr>") - 1
            for _ in range(5):
                client.get(url)
            samples = []
            for _ in range(repeat):
                start = time.perf_counter()
                client.get(url)
                samples.append((time.perf_counter() - start) * 1000)
            samples.sort()
            p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
            print(
                f"{name:10} rows={rows:3}  median {statistics.median(samples):6.1f} ms  p95 {p95:6.1f} ms  (n={repeat})"
            )
    DB.unlink(missing_ok=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
