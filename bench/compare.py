"""Page timings of two commits on the same data, interleaved: issue 14's "no page slower by more than 10%".

`make bench` run once on each commit compares two runs minutes or hours apart; on a shared
machine (2 cores, other work coming and going) that difference is mostly noise. This script
instead:

1. seeds one PostgreSQL database (``bench_cmp``, dropped and recreated; DATABASE_URL's server)
   with the `bench/seed.py` of the commit before issue 14 (``--seed``, default ac0d166: clinics
   of 1,000 and 100,000 pumps by default);
2. copies it into one database per arm (``CREATE DATABASE ... TEMPLATE``) and migrates each
   copy with its arm's commit (``old`` and ``old_again`` with OLD's `migrate`, ``new`` with
   NEW's), so every arm reads exactly the same data, upgraded as an installation would be;
   then VACUUM ANALYZE on each;
3. starts one long-lived process per arm, each on its own commit (its `bench.settings`: DEBUG
   off, production middleware; the process's own cache, no Redis, alike for all arms), logged
   in as a staff member, and warms every page up; then, in blocks, asks each arm in turn (the
   order rotating from block to block) for a few requests of one page at one size, through
   Django's test Client as `make bench`'s page stage does. The arms' samples of a page are
   thus taken seconds apart, all through the run, so load that comes and goes on the machine
   weighs on every arm alike;
4. prints, per page and size, each arm's median and the paired ratios: the median over blocks
   of (new / old) and of (old_again / old). The second compares the same code on the same data
   with itself: how far apart two identical arms land on this machine now (the noise).

Both commits are taken from git (`git archive`), never from the working tree, so files
being edited meanwhile do not leak into the figures.

    .venv/bin/python bench/compare.py                      # old ac0d166, new HEAD
    .venv/bin/python bench/compare.py --new layout --blocks 30
    .venv/bin/python bench/compare.py --reuse              # keep the seeded bench_cmp
    .venv/bin/python bench/compare.py --reuse --old main~3 --new main   # any two commits after the seed's
"""

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_cmp"
# name, url (patient page: the seeded patient with the longest history), role of the user
PAGES = (
    ("Today", "/", "staff"),
    ("Today, first visit after a change", "/", "staff"),
    ("Caseload (first page)", "/caseload/", "staff"),
    ("Overdue worklist", "/overdue/", "staff"),
    ("Replacements", "/replacements/", "staff"),
    ("Review", "/review/", "staff"),
    ("Appointments", "/appointments/", "staff"),
    ("Patient page", "/patients/{patient}/", "staff"),
)
COUNTING = "Today, first visit after a change"  # the cached counts are dropped before each request
ARMS = ("old", "old_again", "new")
WORK = Path(tempfile.gettempdir()) / "itb-bench-compare"
WORKER = WORK / "compare_worker.py"  # a copy of this file taken at start: edits meanwhile do not reach the workers


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- the worker: runs inside one commit's tree ---------------------------------------------


def worker(tree: str, task: str) -> None:
    """Runs in a process of its own in one commit's tree; answers on stdout, a JSON line each."""
    sys.path[0] = tree  # this commit's code, not the tree the script was started from
    os.chdir(tree)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.core.management import call_command

    spec = json.loads(sys.stdin.readline())
    if task == "migrate":
        call_command("migrate", verbosity=0)
        answer({})
    elif task == "seed":
        answer(seed_database(spec))
    else:
        serve(spec)


def answer(value) -> None:
    print(json.dumps(value), flush=True)


def seed_database(spec: dict) -> dict:
    from django.core.management import call_command

    from bench import seed

    sizes = [int(size) for size in spec["sizes"]]
    if spec["reuse"]:
        seeded = seed.existing(sizes)
    else:
        call_command("migrate", verbosity=0)
        seeded = seed.seed(sizes, load_users=0, log=lambda message: print(message, file=sys.stderr))
    return {
        str(size): {"staff": entry.staff.username, "patient": entry.rich_patient_id} for size, entry in seeded.items()
    }


def serve(spec: dict) -> None:
    """Log in, then answer {"page", "size", "n"} with n timings in ms, {"queries"} with counts."""
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    users = spec["users"]
    urls = {name: url for name, url, _role in PAGES}
    clients = {}
    for size, user in users.items():
        clients[size] = Client()
        clients[size].force_login(get_user_model().objects.get(username=user["staff"]))

    def get(size: str, name: str) -> float:
        if name == COUNTING:
            cache.clear()  # as a committed change to the clinic's data does (its cached counts go)
        url = urls[name].format(patient=users[size]["patient"])
        started = time.perf_counter()
        response = clients[size].get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        return elapsed

    answer("ready")
    for line in sys.stdin:
        command = json.loads(line)
        if "queries" in command:
            counts = {}
            for name in urls:
                for size in users:
                    if name == COUNTING:
                        cache.clear()
                    with CaptureQueriesContext(connection) as captured:
                        clients[size].get(urls[name].format(patient=users[size]["patient"]))
                    counts[f"{name}|{size}"] = len(captured)
            answer(counts)
        else:
            answer([get(command["size"], command["page"]) for _ in range(command["n"])])


# -- the driver -----------------------------------------------------------------------------


def git(*args: str) -> bytes:
    command = ["git", "-C", str(ROOT), *args]
    return subprocess.run(command, capture_output=True, check=True).stdout  # noqa: S603, S607 (git, fixed arguments)


def extract(ref: str, target: Path) -> str:
    """The commit's files under ``target`` (git archive); returns the full commit id."""
    commit = git("rev-parse", "--verify", f"{ref}^{{commit}}").decode().strip()
    marker = target / ".commit"
    if marker.exists() and marker.read_text() == commit:
        return commit
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(git("archive", commit))) as archive:
        archive.extractall(target, filter="data")
    marker.write_text(commit)
    return commit


def start(tree: Path, task: str, spec: dict, database_url: str, var: Path) -> subprocess.Popen:
    """A worker process on ``tree``'s commit, given its spec; it answers on its stdout."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    env.update(DATABASE_URL=database_url, REDIS_URL="", VAR_DIR=str(var), PYTHONDONTWRITEBYTECODE="1")
    process = subprocess.Popen(  # noqa: S603 (this venv's python, this script, fixed arguments)
        [sys.executable, str(WORKER), "--worker", str(tree), task],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    send(process, spec)
    return process


def send(process: subprocess.Popen, command: dict) -> None:
    process.stdin.write(json.dumps(command) + "\n")
    process.stdin.flush()


def reply(process: subprocess.Popen):
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"a worker stopped (exit {process.wait()}); its error is above")
    return json.loads(line)


def run_once(tree: Path, task: str, spec: dict, database_url: str, var: Path):
    """Start a worker for one task (seed, migrate), wait for its answer and its end."""
    process = start(tree, task, spec, database_url, var)
    result = reply(process)
    process.stdin.close()
    process.wait()
    return result


def database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def admin_sql(url: str, *statements: str, name: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(database(url, name), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def loadavg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", default="ac0d166", help="the commit before (default ac0d166)")
    parser.add_argument("--new", default="HEAD", help="the commit after (default HEAD)")
    parser.add_argument("--seed", default="ac0d166", help="the commit whose bench/seed.py seeds (default ac0d166)")
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--blocks", type=int, default=20, help="blocks: in each, every arm times every page")
    parser.add_argument("--per-block", type=int, default=2, help="requests per arm, page and size in a block")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database (bench_cmp)")
    parser.add_argument("--database-url", default=os.environ.get("COMPARE_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--json", help="also write every sample to this file")
    args = parser.parse_args()

    base = urlsplit(args.database_url).path.lstrip("/")
    if "bench" not in base or not base.replace("_", "").isalnum():
        raise SystemExit(f"database {base!r}: this script drops its databases, so the name must contain 'bench'")
    var = WORK / "var"
    var.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(__file__, WORKER)
    trees = {"old": WORK / "old", "new": WORK / "new", "seed": WORK / "seed"}
    refs = (("old", args.old), ("new", args.new), ("seed", args.seed))
    commits = {arm: extract(ref, trees[arm]) for arm, ref in refs}
    trees["old_again"], commits["old_again"] = trees["old"], commits["old"]
    log(f"old {commits['old'][:10]}, new {commits['new'][:10]}, seed {commits['seed'][:10]}; load {loadavg()}")

    sizes = args.sizes.split(",")
    if not args.reuse:
        log(f"seeding {base} with the seed commit's bench/seed.py: {', '.join(sizes)} pumps")
        admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{base}" WITH (FORCE)', f'CREATE DATABASE "{base}"')
    seed_spec = {"sizes": sizes, "reuse": args.reuse}
    users = run_once(trees["seed"], "seed", seed_spec, database(args.database_url, base), var)
    arm_urls = {}
    for arm in ARMS:
        name = f"{base}_{arm}"
        admin_sql(
            args.database_url,
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'CREATE DATABASE "{name}" TEMPLATE "{base}"',
        )
        arm_urls[arm] = database(args.database_url, name)
    for arm in ARMS:
        started = time.perf_counter()
        run_once(trees[arm], "migrate", {}, arm_urls[arm], var)
        log(f"migrated the {arm} arm's copy with its commit in {time.perf_counter() - started:.1f} s")
    for arm in ARMS:
        admin_sql(args.database_url, "VACUUM ANALYZE", "CHECKPOINT", name=f"{base}_{arm}")

    workers = {arm: start(trees[arm], "serve", {"users": users}, arm_urls[arm], var) for arm in ARMS}
    for process in workers.values():
        reply(process)  # "ready": logged in
    keys = [(name, size) for name, _url, _role in PAGES for size in sizes]
    for name, size in keys:
        for arm in ARMS:
            send(workers[arm], {"page": name, "size": size, "n": args.warmup})
            reply(workers[arm])
    log(f"warmed up; {args.blocks} blocks of {args.per_block} requests per arm, page and size")
    samples = {arm: {f"{name}|{size}": [] for name, size in keys} for arm in ARMS}
    ratios = {pair: {f"{name}|{size}": [] for name, size in keys} for pair in ("new", "old_again")}
    for block in range(args.blocks):
        order = ARMS[block % 3 :] + ARMS[: block % 3]
        for name, size in keys:
            key = f"{name}|{size}"
            medians = {}
            for arm in order:
                send(workers[arm], {"page": name, "size": size, "n": args.per_block})
                values = reply(workers[arm])
                samples[arm][key] += values
                medians[arm] = statistics.median(values)
            for pair in ratios:
                ratios[pair][key].append(medians[pair] / medians["old"])
        log(f"block {block + 1}/{args.blocks} done; load average {loadavg()}")
    queries = {}
    for arm in ("old", "new"):
        send(workers[arm], {"queries": True})
        queries[arm] = reply(workers[arm])
    for process in workers.values():
        process.stdin.close()
        process.wait()

    print()
    print(
        f"old {commits['old'][:10]}  new {commits['new'][:10]}  "
        f"({args.blocks} blocks x {args.per_block} requests per arm; load average at end {loadavg()})"
    )
    print()
    print("| page | pumps | old ms | old again ms | new ms | new / old | old again / old | queries old / new |")
    print("|---|---|---|---|---|---|---|---|")
    for name, size in keys:
        key = f"{name}|{size}"
        old, again, new = (statistics.median(samples[arm][key]) for arm in ARMS)
        print(
            f"| {name} | {int(size):,} | {old:.1f} | {again:.1f} | {new:.1f} | "
            f"{statistics.median(ratios['new'][key]):.2f} | {statistics.median(ratios['old_again'][key]):.2f} | "
            f"{queries['old'][key]} / {queries['new'][key]} |"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"commits": commits, "samples": samples, "ratios": ratios, "queries": queries})
        )


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
    else:
        main()
