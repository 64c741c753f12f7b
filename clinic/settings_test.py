"""Settings for the test suite: the defaults, with a fixed key and fast hashing."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

from clinic.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; argon2 is tested in production settings
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Tests run in transactions that never commit, so the caseload cache would never be
# invalidated (clinic.caseload_cache bumps on commit): no cache, except in the tests of
# the cache itself (tests/test_caseload_cache.py), which commit.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
