"""The large-caseload benchmark (issue 8): `make bench`.

Drops and recreates the benchmark database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/itb_bench), seeds clinics of 1,000, 10,000 and
100,000 pumps with bulk inserts, measures every figure of the issue against its target,
prints a table and writes bench/RESULTS.md.

    .venv/bin/python bench/run.py                  # everything (what `make bench` runs)
    .venv/bin/python bench/run.py --reuse          # keep the seeded database, measure again
    .venv/bin/python bench/run.py --reuse --only pages,explain
"""

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

SIZES = (1_000, 10_000, 100_000)
STAGES = ("pages", "explain", "load", "report", "import", "browser_import", "sweep", "loop")
RESULTS = ROOT / "bench" / "RESULTS.md"
STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f} s] {message}", flush=True)


def database_url() -> str:
    return os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/itb_bench")


def reset_database(url: str) -> None:
    """Drop and create the benchmark database (connecting to the server's `postgres` database)."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").replace("-", "").isalnum():
        raise SystemExit(f"DATABASE_URL: unexpected database name {name!r}")
    if "bench" not in name:
        # The benchmark drops its database: never one that might hold real data.
        raise SystemExit(
            f"DATABASE_URL names database {name!r}: the benchmark drops and recreates its database, "
            "so its name must contain 'bench' (default itb_bench)."
        )
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", action="store_true", help="measure the already seeded database again")
    parser.add_argument("--only", help=f"comma-separated stages among {', '.join(STAGES)}")
    parser.add_argument("--sizes", help="comma-separated clinic sizes (default 1000,10000,100000)")
    parser.add_argument("--load-seconds", type=int, default=60)
    parser.add_argument("--load-users", type=int, default=50)
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else SIZES
    stages = tuple(args.only.split(",")) if args.only else STAGES
    os.environ.setdefault("DATABASE_URL", database_url())

    if not args.reuse:
        log(f"recreating database {database_url()}")
        reset_database(database_url())

    cache_description = prepare_cache()

    import django

    django.setup()
    from django.core.management import call_command

    from bench import measure, seed

    if not args.reuse:
        log("migrating")
        call_command("migrate", verbosity=0)
        log(f"seeding clinics of {', '.join(f'{s:,}' for s in sizes)} pumps (bulk inserts)")
        t0 = time.perf_counter()
        seeded = seed.seed(sizes, load_users=args.load_users, log=log)
        seed_seconds = time.perf_counter() - t0
        log(f"seeded in {seed_seconds:.1f} s")
    else:
        seeded = seed.existing(sizes)
        seed_seconds = None
    measure.check_seed(seeded, log=log)

    report = measure.Report(sizes=sizes, seeded=seeded, seed_seconds=seed_seconds)
    report.machine = machine_description()
    report.machine["cache"] = cache_description
    if "pages" in stages:
        measure.pages(report, log=log)
    if "explain" in stages:
        measure.explain(report, log=log)
    # The load test before the import: the import's 50,000 new rows set autovacuum going,
    # which would compete with gunicorn for the two cores.
    if "load" in stages:
        from bench import load

        load.run(report, seconds=args.load_seconds, users=args.load_users, log=log)
    if "report" in stages:
        measure.caseload_report(report, log=log)
    if "import" in stages:
        measure.import_file(report, log=log)
    if "browser_import" in stages:
        from bench import browser_import

        browser_import.measure(report, log=log)
    if "sweep" in stages:
        measure.sweep(report, log=log)
    if "loop" in stages:
        from bench import loop  # issue 15: plan, worklist, book the week

        loop.run(report, log=log)
    report.total_seconds = time.monotonic() - STARTED
    report.machine["load average at end (1/5/15 min)"] = loadavg()
    text = report.markdown()
    print()
    print(report.table())
    if set(stages) == set(STAGES) and sizes == SIZES:
        RESULTS.write_text(text)
        log(f"written {RESULTS.relative_to(ROOT)}")
    else:
        partial = RESULTS.with_name("RESULTS.partial.md")
        partial.write_text(text)
        log(f"partial run: written {partial.relative_to(ROOT)} (bench/RESULTS.md unchanged)")


def prepare_cache() -> str:
    """Empty the benchmark's Redis database (cached counts of an earlier seeding would be
    wrong: seeding bypasses the models' signals), or use the process's memory without Redis."""
    import redis

    url = os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).flushdb()
    except redis.RedisError as error:
        log(f"Redis at {url} not reachable ({error}): caching in each process's memory instead")
        os.environ["REDIS_URL"] = ""
        return "process memory (no Redis reachable)"
    return f"Redis ({url}), emptied at start"


def machine_description() -> dict:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg_version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
        cursor.execute("SHOW work_mem")
        work_mem = cursor.fetchone()[0]
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus (nproc)": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "os": platform.platform(),
        "PostgreSQL": pg_version.split(" on ")[0] + f" (shared_buffers {shared_buffers}, work_mem {work_mem})",
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "load average at start (1/5/15 min)": loadavg(),
        "CPU speed reference (pure-Python loop, lower is faster)": cpu_reference(),
    }


def cpu_reference() -> str:
    """The same machine kind runs at different speeds from day to day (shared hosts): a fixed
    pure-Python workload, timed, makes runs on different days comparable."""
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        sum(i * i for i in range(2_000_000))
        samples.append(time.perf_counter() - t0)
    return f"{min(samples) * 1000:.0f} ms for sum(i * i for i in range(2,000,000)), best of 5"


def loadavg() -> str:
    """Other work on the machine inflates every figure: recorded at start and end."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def median_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


if __name__ == "__main__":
    main()
