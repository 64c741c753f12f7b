"""The browser import through a running gunicorn and Celery worker (issue 13).

Upload, preview and confirm of a large caseload file as an admin would do it: log in
through the login form, upload the file (multipart), follow the preview to its job page,
poll the job's JSON status as the page's script does until the preview is done, open the
preview, confirm, and poll the import job until it is done. Every request is timed: the
longest must stay under 2 s whatever the file size (the work is the worker's). The job's
own start and finish give the import's throughput.

gunicorn (30 s timeout) and one Celery worker (solo pool, Redis broker) are started and
stopped here; every wait is bounded. They run with the production settings
(``clinic.settings_production``: HTTPS-only cookies, SSL redirect, whitenoise's manifest of
collected static files, Redis cache, JSON logs), this script acting as the TLS proxy in
front of gunicorn (``X-Forwarded-Proto: https``) as scripts/prod_smoke.py does; with
``--bench-settings``, the benchmark's settings (bench/settings.py) instead.

    .venv/bin/python bench/run.py --reuse --only browser_import          # inside make bench
    .venv/bin/python bench/browser_import.py --rows 2000                 # alone (migrates first)
"""

import http.cookiejar
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
BROWSER_ROWS = 32_739  # the file of issue 13 (about 5 MB)
REQUEST_LIMIT_S = 2.0
BROKER_URL = "redis://127.0.0.1:6379/11"  # a database of its own, flushed before each run
POLL_SECONDS = 1.0
JOB_TIMEOUT_S = 1800
USERNAME = "bench-browser-admin"


class SecureCookiesOverLoopback(http.cookiejar.DefaultCookiePolicy):
    """The production cookies are Secure; this script is the TLS proxy, so send them over http."""

    def return_ok_secure(self, cookie, request):
        return True


class Session:
    """A logged-in browser behind the TLS proxy: cookies, CSRF token, and the time of every request."""

    def __init__(self, base: str):
        self.base = base
        self.origin = base.replace("http://", "https://", 1)  # what the browser sees
        self.jar = http.cookiejar.CookieJar(policy=SecureCookiesOverLoopback())

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())
        self.timings: list[tuple[str, float, int]] = []  # (what, seconds, status)

    def request(self, what: str, path: str, data: bytes | None = None, headers: dict | None = None):
        headers = {"X-Forwarded-Proto": "https", **(headers or {})}  # as the TLS proxy sends
        request = urllib.request.Request(f"{self.base}{path}", data=data, headers=headers)  # noqa: S310 (loopback)
        t0 = time.perf_counter()
        try:
            response = self.opener.open(request, timeout=60)
            status, body, location = response.status, response.read(), response.headers.get("Location", "")
        except urllib.error.HTTPError as error:  # 3xx (redirects not followed) and errors
            status, body, location = error.code, error.read(), error.headers.get("Location", "")
        seconds = time.perf_counter() - t0
        self.timings.append((what, seconds, status))
        if status >= 400:
            raise RuntimeError(f"{what}: HTTP {status} for {path}")
        return status, body.decode("utf-8", "replace"), location

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def post(self, what: str, path: str, fields: dict):
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self.csrf()}).encode()
        return self.request(what, path, data, {"Referer": f"{self.origin}{path}", "Origin": self.origin})

    def upload(self, what: str, path: str, name: str, content: bytes):
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{self.csrf()}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n".encode(),
            content,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Referer": f"{self.origin}{path}",
            "Origin": self.origin,
        }
        return self.request(what, path, b"".join(parts), headers)


def absolute_path(location: str, base: str) -> str:
    for prefix in (base, base.replace("http://", "https://", 1)):
        if location.startswith(prefix):
            return location[len(prefix) :]
    return location


def production_env() -> dict:
    """The variables clinic.settings_production requires, for this machine's services."""
    var_dir = Path(tempfile.gettempdir()) / "itb-bench-browser-var"
    var_dir.mkdir(exist_ok=True)
    return {
        "DJANGO_SETTINGS_MODULE": "clinic.settings_production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "SITE_URL": "https://localhost",
        "CELERY_BROKER_URL": BROKER_URL,
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/12",
        "EMAIL_HOST": "127.0.0.1",  # nothing is sent during an import
        "VAR_DIR": str(var_dir),
        "DATABASE_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "INFO",  # the worker says it is ready at INFO
    }


def wait_until_up(session: "Session", process: subprocess.Popen, seconds: float = 60) -> None:
    """gunicorn answers the login page (through the TLS proxy's header: no SSL redirect)."""
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            session.request("wait for gunicorn", "/accounts/login/")
            session.timings.pop()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, RuntimeError):
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer within 60 s")


def follow_job(session: Session, job_path: str, log) -> tuple[float, dict]:
    """Poll the job's status until it is finished; returns (seconds, last status)."""
    import json

    started = time.monotonic()
    last = {}
    while time.monotonic() - started < JOB_TIMEOUT_S:
        _status, body, _loc = session.request("job status (JSON)", f"{job_path}status/")
        last = json.loads(body)
        if last["finished"]:
            return time.monotonic() - started, last
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"job {job_path} not finished after {JOB_TIMEOUT_S} s: {last}")


def start_servers(env: dict, log) -> tuple[subprocess.Popen, subprocess.Popen, str, Path]:
    import redis

    from bench.load import WORKERS, free_port

    redis.Redis.from_url(BROKER_URL, socket_connect_timeout=3).flushdb()
    port = free_port()
    base = f"http://{HOST}:{port}"
    logs = Path(tempfile.gettempdir())
    bin_dir = Path(sys.executable).parent
    gunicorn_log = (logs / "itb-bench-browser-gunicorn.log").open("w")
    worker_log_path = logs / "itb-bench-browser-worker.log"
    worker_log = worker_log_path.open("w")
    web = subprocess.Popen(  # noqa: S603 (our venv's gunicorn, fixed arguments)
        [str(bin_dir / "gunicorn"), "clinic.wsgi:application", "--bind", f"{HOST}:{port}"]
        + ["--workers", str(WORKERS), "--timeout", "30", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=gunicorn_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = subprocess.Popen(  # noqa: S603 (our venv's celery, fixed arguments)
        [str(bin_dir / "celery"), "-A", "clinic", "worker", "--pool=solo", "--loglevel=INFO"]
        + ["--without-heartbeat", "--without-mingle", "--without-gossip", "-n", "bench-import@%h"],
        cwd=ROOT,
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log(f"  gunicorn ({WORKERS} sync workers) on {base}, one Celery worker (solo pool), broker {BROKER_URL}")
    wait_until_up(Session(base), web)
    deadline = time.monotonic() + 60
    while b" ready." not in worker_log_path.read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Celery worker did not start: {worker_log_path.read_text()[-2000:]}")
        time.sleep(0.3)
    return web, worker, base, worker_log_path


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def prepare_clinic(rows: int, log):
    """An empty clinic and its admin (with the benchmark's password), and the file."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from bench.measure import import_csv
    from bench.seed import PASSWORD
    from clinic.models import Clinic, Membership
    from imports.models import ImportJob, PendingImport
    from patients.models import Patient, Pump
    from refills.models import Appointment, Refill

    slug = "bench-browser-import"
    clinic = Clinic.objects.filter(slug=slug).first()
    if clinic is None:
        clinic = Clinic.objects.create(name="Bench browser import", slug=slug, time_zone="Europe/London")
    Appointment.objects.filter(patient__clinic=clinic).delete()
    Refill.objects.filter(pump__clinic=clinic).delete()
    Pump.objects.filter(clinic=clinic).delete()
    Patient.objects.filter(clinic=clinic).delete()
    ImportJob.objects.filter(clinic=clinic).delete()
    PendingImport.objects.filter(clinic=clinic).delete()
    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    user.password = make_password(PASSWORD)
    user.save()
    Membership.objects.get_or_create(user=user, clinic=clinic, defaults={"role": Membership.Role.ADMIN})
    # Only this clinic: the login lands on it.
    Membership.objects.filter(user=user).exclude(clinic=clinic).delete()
    content = import_csv(rows, clinic.today()).encode()
    log(f"  file of {rows:,} rows, {len(content) / 1024 / 1024:.1f} MB")
    return clinic, content


def run_browser_import(rows: int, log, production: bool = True) -> dict:
    """Upload, preview and confirm ``rows`` rows through gunicorn and a worker; the figures."""
    from bench.seed import PASSWORD
    from imports.models import ImportJob
    from patients.models import Patient

    clinic, content = prepare_clinic(rows, log)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
        "CELERY_BROKER_URL": BROKER_URL,
    }
    if production:
        env.pop("DEBUG", None)
        env.update(production_env())
        log("  collecting static files (the production settings serve them from their manifest)")
        subprocess.run(  # noqa: S603 (our venv's python, fixed arguments)
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
        )
    web, worker, base, worker_log = start_servers(env, log)
    try:
        session = Session(base)
        session.request("login page", "/accounts/login/")
        status, _body, location = session.post(
            "log in", "/accounts/login/", {"username": USERNAME, "password": PASSWORD}
        )
        if status != 302:
            raise RuntimeError(f"login failed: HTTP {status}")
        session.request("upload page", "/import/")
        status, _body, location = session.upload("upload (stores the file)", "/import/", "caseload.csv", content)
        if status != 302 or not location.endswith("/import/preview/"):
            raise RuntimeError(f"upload refused: HTTP {status}, {location}")
        _s, _b, location = session.request("preview (queues the check)", "/import/preview/")
        job_path = absolute_path(location, base)
        session.request("job page (progress)", job_path)
        preview_seconds, last = follow_job(session, job_path, log)
        if last["status"] != "done":
            raise RuntimeError(f"preview job {last}")
        _s, page, _l = session.request("preview page (result)", job_path)
        key = re.search(r'name="key" value="([^"]+)"', page).group(1)
        if 'value="import"' not in page:
            raise RuntimeError("the preview offers no import: the file has problems")
        log(f"  preview job: {preview_seconds:.1f} s (polled)")
        _s, _b, location = session.post(
            "confirm (queues the import)", "/import/confirm/", {"key": key, "action": "import"}
        )
        job_path = absolute_path(location, base)
        import_seconds, last = follow_job(session, job_path, log)
        if last["status"] != "done":
            raise RuntimeError(f"import job {last}")
        _s, page, _l = session.request("import page (result)", job_path)
        log(f"  import job: {import_seconds:.1f} s (polled)")
    finally:
        stop(web)
        stop(worker)
    jobs = {job.kind: job for job in ImportJob.objects.filter(clinic=clinic)}
    created = Patient.objects.filter(clinic=clinic).count()
    ok = created == rows and "Imported" in page
    # The login's password hashing (argon2) is slow by design and not part of the import.
    import_requests = [t for t in session.timings if t[0] not in ("login page", "log in")]
    longest = max(import_requests, key=lambda t: t[1])
    by_step = {}
    for what, seconds, _status in session.timings:
        by_step[what] = max(by_step.get(what, 0), seconds)

    def job_seconds(job):
        return (job.finished_at - job.started_at).total_seconds()

    preview_job_s, import_job_s = job_seconds(jobs["preview"]), job_seconds(jobs["import"])
    return {
        "rows": rows,
        "settings": "clinic.settings_production" if production else "bench.settings",
        "bytes": len(content),
        "ok": ok,
        "requests": len(import_requests),
        "longest": longest,
        "by_step": by_step,
        "preview_job_s": preview_job_s,
        "import_job_s": import_job_s,
        "preview_rate": rows / preview_job_s,
        "import_rate": rows / import_job_s,
        "worker_log": str(worker_log),
    }


def measure(report, *, log, rows: int = BROWSER_ROWS) -> None:
    log(f"  browser import of {rows:,} rows through gunicorn and a Celery worker")
    result = run_browser_import(rows, log)
    steps = "; ".join(f"{what} {seconds * 1000:.0f} ms" for what, seconds in result["by_step"].items())
    result["detail"] = (
        f"Browser import: a {result['rows']:,}-row file ({result['bytes'] / 1024 / 1024:.1f} MB) uploaded, "
        f"previewed and confirmed through gunicorn ({result['settings']}, 30 s timeout) and one Celery worker "
        f"(solo pool, Redis broker); {result['requests']} requests, the longest per step: {steps}. "
        f"Jobs (worker time from start to finish): preview {result['preview_job_s']:.1f} s "
        f"({result['preview_rate']:.0f} rows/s), import {result['import_job_s']:.1f} s "
        f"({result['import_rate']:.0f} rows/s)."
    )
    report.browser_import_result = result
    what, seconds, _status = result["longest"]
    log(
        f"  browser import: ok={result['ok']}, longest request {seconds * 1000:.0f} ms ({what}), "
        f"preview {result['preview_rate']:.0f} rows/s, import {result['import_rate']:.0f} rows/s"
    )


if __name__ == "__main__":
    import argparse

    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=BROWSER_ROWS)
    parser.add_argument("--bench-settings", action="store_true", help="bench/settings.py instead of production's")
    args = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    def log(message):
        print(message, flush=True)

    result = run_browser_import(args.rows, log, production=not args.bench_settings)
    print({k: v for k, v in result.items() if k != "by_step"})
    for what, seconds in result["by_step"].items():
        print(f"  {seconds * 1000:8.0f} ms  {what}")
