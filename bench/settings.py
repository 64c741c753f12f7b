"""Settings for the benchmark: the production defaults (DEBUG off, argon2, database
sessions saved every request) against PostgreSQL, with a fixed key and no outside services.

DATABASE_CONN_MAX_AGE defaults to 60 s, the value of .env.example (production).
"""

import os
import tempfile

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/itb_bench")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-never-used-in-production-0123456789abcdef")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ.setdefault("VAR_DIR", os.path.join(tempfile.gettempdir(), "itb-bench-var"))
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.pop("DEBUG", None)  # measure with DEBUG off, as in production
os.environ.pop("EMAIL_HOST", None)  # emails to files under VAR_DIR, never a real server

from clinic.settings import *  # noqa: E402,F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
