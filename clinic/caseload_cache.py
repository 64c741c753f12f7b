"""Numbers computed over a clinic's whole caseload, cached until the caseload changes.

The Today cards and the caseload total count every followed pump of the clinic; at
100,000 pumps that is tens of milliseconds per request (bench/FINDINGS.md). The result
only changes when the clinic's data changes or its day turns, so it is cached under a
key holding the clinic's *caseload version* and its local date:

- every save or delete of a clinic, membership, patient, pump, refill, program change or
  appointment gives the clinic a new version once its transaction commits (never before:
  a request reading the new version must not cache numbers read before the commit), so
  the next request counts again;
- the entries also expire after CASELOAD_CACHE_SECONDS, a bound on staleness should a
  change ever bypass the model signals (a queryset update() sends none).

The cache must be shared by every process that writes (REDIS_URL in production); with a
per-process cache another process would miss this process's invalidations. A cache
failure falls back to computing the numbers: it never fails a page.
"""

import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Hashable
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import signals

logger = logging.getLogger(__name__)


def _version_key(clinic_id: int) -> str:
    return f"caseload-version:{clinic_id}"


def version(clinic_id: int) -> str:
    """The clinic's current caseload version (a new random one if the cache lost it)."""
    key = _version_key(clinic_id)
    current = cache.get(key)
    if current is None:
        # Never a predictable value: a lost version must not bring back older entries.
        cache.add(key, uuid.uuid4().hex, None)
        current = cache.get(key)
    return current


def invalidate(clinic_id: int) -> None:
    """Give the clinic a new caseload version now (changed() does it at commit)."""
    try:
        cache.set(_version_key(clinic_id), uuid.uuid4().hex, None)
    except Exception:  # the entries still expire; log without any patient data
        logger.warning("could not invalidate the caseload cache of clinic %s", clinic_id, exc_info=True)


def changed(clinic_id: int | None) -> None:
    """The clinic's caseload changed in the current transaction: count again after commit."""
    if clinic_id is not None:
        transaction.on_commit(lambda: invalidate(clinic_id))


_marking = threading.local()


@contextmanager
def one_change(clinic_id: int):
    """Inside, saves and deletes mark nothing; the clinic changes once, at the end.

    For bulk work on one clinic (the caseload import writes tens of thousands of rows):
    one invalidation at commit rather than one per row.
    """
    depth = getattr(_marking, "suspended", 0)
    _marking.suspended = depth + 1
    try:
        yield
    finally:
        _marking.suspended = depth
        changed(clinic_id)


def cached(clinic_id: int, parts: tuple[Hashable, ...], compute: Callable[[], object]):
    """``compute()``, or its result for the same ``parts`` and caseload version."""
    try:
        digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
        key = f"caseload:{clinic_id}:{version(clinic_id)}:{digest}"
        value = cache.get(key)
    except Exception:
        logger.warning("caseload cache unavailable", exc_info=True)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, settings.CASELOAD_CACHE_SECONDS)
        except Exception:
            logger.warning("caseload cache unavailable", exc_info=True)
    return value


def _clinic_of(instance) -> int | None:
    """The clinic of a changed row (one lookup at most, usually none: the parent is loaded)."""
    if hasattr(instance, "clinic_id"):
        return instance.clinic_id
    if getattr(instance, "pump_id", None) is not None:
        return instance.pump.clinic_id
    if getattr(instance, "patient_id", None) is not None:
        return instance.patient.clinic_id
    return getattr(instance, "pk", None) if instance._meta.label == "clinic.Clinic" else None


def _on_change(sender, instance, raw=False, **kwargs):
    if not raw and not getattr(_marking, "suspended", 0):  # not fixtures, not inside one_change()
        changed(_clinic_of(instance))


def connect() -> None:
    """Listen to every change of the models the cached numbers read (AppConfig.ready): those
    whose clinic_scope says ``caseload=True``."""
    from clinic.scoping import scope_of, scoped_models

    for model in scoped_models():
        if not scope_of(model).caseload:
            continue
        label = model._meta.label
        signals.post_save.connect(_on_change, sender=model, dispatch_uid=f"caseload-cache-save-{label}")
        signals.post_delete.connect(_on_change, sender=model, dispatch_uid=f"caseload-cache-delete-{label}")
