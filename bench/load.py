"""Load test: concurrent logged-in staff browsing caseload and overdue against gunicorn.

Locust is not installed here, so this is a small load generator: one thread per user,
urllib with its own cookie jar, a real login through the login form (CSRF token,
argon2 password check), then pages with a think time of 1-3 s between requests (like
locust's ``between(1, 3)``), until the deadline. Loopback only; gunicorn is started and
stopped by this module, and every wait is bounded.
"""

import http.cookiejar
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from bench.measure import median_p95, ms
from bench.seed import PASSWORD

HOST = "127.0.0.1"
THINK = (1.0, 3.0)
REQUEST_TIMEOUT = 15
WORKERS = 2 * (os.cpu_count() or 1) + 1  # gunicorn's advice: 2 x cores + 1 sync workers
BROWSE = [
    ("/caseload/", 4),
    ("/caseload/?page={page}", 2),
    ("/caseload/?sort=refill_due", 1),
    ("/caseload/?status=overdue&status=alarming", 1),
    ("/overdue/", 4),
    ("/overdue/?page=2", 1),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class User(threading.Thread):
    def __init__(self, base: str, username: str, deadline: float, results: list, lock: threading.Lock, seed: int):
        super().__init__(daemon=True)
        self.base, self.username, self.deadline = base, username, deadline
        self.results, self.lock = results, lock
        self.rng = random.Random(seed)
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.logged_in = False
        self.login_error = ""

    def login(self) -> None:
        try:
            page = self.opener.open(f"{self.base}/accounts/login/", timeout=REQUEST_TIMEOUT).read().decode()  # noqa: S310 (loopback http)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
            data = urllib.parse.urlencode(
                {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token}
            ).encode()
            request = urllib.request.Request(  # noqa: S310 (loopback http)
                f"{self.base}/accounts/login/", data=data, headers={"Referer": f"{self.base}/accounts/login/"}
            )
            response = self.opener.open(request, timeout=REQUEST_TIMEOUT)
            self.logged_in = response.geturl().rstrip("/") == self.base and response.status == 200
            if not self.logged_in:
                self.login_error = f"ended on {response.geturl()}"
        except Exception as error:  # reported as a login failure
            self.login_error = repr(error)

    def run(self) -> None:
        paths = [path for path, weight in BROWSE for _ in range(weight)]
        while time.monotonic() < self.deadline:
            path = self.rng.choice(paths).format(page=self.rng.randint(2, 20))
            t0 = time.perf_counter()
            status, error = 0, ""
            try:
                with self.opener.open(f"{self.base}{path}", timeout=REQUEST_TIMEOUT) as response:
                    body = response.read()
                    status = response.status
                    if b'name="password"' in body:  # sent back to the login page
                        status, error = 599, "logged out"
            except urllib.error.HTTPError as failure:
                status, error = failure.code, str(failure)
            except Exception as failure:
                error = repr(failure)
            elapsed = ms(time.perf_counter() - t0)
            with self.lock:
                self.results.append((path.split("?")[0], status, elapsed, error))
            time.sleep(min(self.rng.uniform(*THINK), max(0.0, self.deadline - time.monotonic())))


def wait_until_up(base: str, process: subprocess.Popen, seconds: float = 60) -> None:
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"{base}/accounts/login/", timeout=2).read()  # noqa: S310 (loopback http)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer within 60 s")


def run(report, *, seconds: int, users: int, log) -> None:
    entry = report.seeded[max(report.sizes)]
    usernames = entry.load_users[:users]
    if len(usernames) < users:
        report.notes.append(f"Load test: only {len(usernames)} load users exist (re-seed without --reuse).")
    port = free_port()
    base = f"http://{HOST}:{port}"
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(root)}
    log_path = Path(tempfile.gettempdir()) / "itb-bench-gunicorn.log"
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "clinic.wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(WORKERS),
        "--timeout",
        "30",
        "--log-level",
        "warning",
    ]
    log(f"  starting gunicorn ({WORKERS} sync workers) on {base}")
    with log_path.open("w") as gunicorn_log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=gunicorn_log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        wait_until_up(base, process)
        results, lock = [], threading.Lock()
        deadline = time.monotonic() + 3600  # replaced once everyone is logged in
        threads = [User(base, name, deadline, results, lock, seed=n) for n, name in enumerate(usernames)]
        log(f"  logging in {len(threads)} users")
        login_threads = [threading.Thread(target=t.login, daemon=True) for t in threads]
        for t in login_threads:
            t.start()
        for t in login_threads:
            t.join(timeout=REQUEST_TIMEOUT * 3)
        failed_logins = [t for t in threads if not t.logged_in]
        deadline = time.monotonic() + seconds
        for t in threads:
            t.deadline = deadline
        log(f"  {len(threads) - len(failed_logins)} users logged in; browsing for {seconds} s")
        started = time.monotonic()
        for t in threads:
            if t.logged_in:
                t.start()
        for t in threads:
            if t.logged_in:
                t.join(timeout=seconds + REQUEST_TIMEOUT * 2)
        elapsed = time.monotonic() - started
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    latencies = [r[2] for r in results]
    errors = [r for r in results if r[1] != 200]
    median, p95 = median_p95(latencies) if latencies else (0, 0)
    by_page = {}
    for path, _status, latency, _error in results:
        by_page.setdefault(path, []).append(latency)
    detail_pages = "; ".join(
        f"{path} {len(v):,} requests, median {median_p95(v)[0]:.0f} ms, p95 {median_p95(v)[1]:.0f} ms"
        for path, v in sorted(by_page.items())
    )
    error_kinds = sorted({f"{r[1]} {r[3]}"[:120] for r in errors})
    report.load_result = {
        "users": len(threads) - len(failed_logins),
        "seconds": seconds,
        "requests": len(results),
        "errors": len(errors) + len(failed_logins),
        "median": median,
        "p95": p95,
        "rate": len(results) / elapsed if elapsed else 0,
        "detail": (
            f"Load test: gunicorn with {WORKERS} sync workers on {HOST} against the "
            f"{entry.size:,}-pump clinic, {len(threads)} staff users logged in through the login form, "
            f"think time {THINK[0]:.0f}-{THINK[1]:.0f} s; load generator on the same machine. Pages: {detail_pages}."
            + (f" Failed logins: {len(failed_logins)} ({failed_logins[0].login_error})." if failed_logins else "")
            + (f" Errors: {', '.join(error_kinds[:5])}." if error_kinds else "")
        ),
    }
    log(
        f"  load: {len(results):,} requests, {len(errors)} errors, {len(failed_logins)} failed logins, "
        f"median {median:.0f} ms, p95 {p95:.0f} ms"
    )
