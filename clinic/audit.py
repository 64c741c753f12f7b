"""The audit trail: who changed what and when, with old and new values.

django-auditlog records create, update and delete of the registered models through
signals, so form saves, the admin and the CSV import are all covered; the acting
user comes from its middleware on requests and from ``acting_as`` elsewhere.
Each entry carries the clinic and patient ids so a patient's history is one query.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from auditlog.context import auditlog_value, set_actor
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, signals


def register_models() -> None:
    """Called once from ClinicConfig.ready(): every model whose clinic_scope has audit options."""
    from clinic.scoping import scope_of, scoped_models

    for model in scoped_models():
        options = scope_of(model).audit
        if options is not None:
            auditlog.register(model, **options)


@contextmanager
def acting_as(user):
    """Attribute changes made outside a request (commands, tasks, imports) to ``user``.

    Blocks nest: the demo seeds as the admin and records each fill as its performer.
    auditlog's set_actor disconnects whichever context is current when it ends, so a
    set_actor nested inside without restoring the outer one (auditlog's request middleware,
    or set_actor itself) would leave ours connected for the life of the process and silence
    the outer actor. Here our receiver is disconnected by its own id and the context is put
    back exactly as it was.
    """
    before = auditlog_value.set({"signal_duid": None})  # a token: the context as it was
    ours = None
    try:
        with set_actor(user):
            ours = auditlog_value.get()["signal_duid"]
            yield
    finally:
        if ours is not None:
            signals.pre_save.disconnect(sender=LogEntry, dispatch_uid=ours)
        auditlog_value.reset(before)


def log_export(clinic, user, *, what: str, fmt: str, rows: int, patient=None) -> LogEntry:
    """Record that patient data left the app (an export, a report, a calendar feed)."""
    target = patient or clinic
    return LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(target),
        object_pk=str(target.pk),
        object_id=target.pk,
        object_repr=f"{what} export" if patient is None else f"{what} export ({patient.mrn})",
        action=LogEntry.Action.ACCESS,
        changes={"export": [what, f"{fmt}, {rows} rows"]},
        actor=user,
        additional_data={"clinic_id": clinic.pk, "patient_id": patient.pk if patient else None, "export": what},
    )


def patient_history(clinic, patient):
    """Every audit entry about a patient, their pumps, fills and appointments, newest first."""
    patient_type = ContentType.objects.get_for_model(patient)
    return (
        LogEntry.objects.filter(
            Q(content_type=patient_type, object_pk=str(patient.pk)) | Q(additional_data__patient_id=patient.pk),
            additional_data__clinic_id=clinic.pk,
        )
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")
    )


def clinic_history(clinic):
    return (
        LogEntry.objects.filter(additional_data__clinic_id=clinic.pk)
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")
    )


_batch: ContextVar[list | None] = ContextVar("audit_batch", default=None)


def _install_batching() -> None:
    """Let LogEntry.objects.create (which django-auditlog's receivers call) keep the entry for
    a batch when one is open in this context; elsewhere it creates as before."""
    manager = LogEntry.objects
    if getattr(manager, "_batching_installed", False):
        return
    create = manager.create

    def create_or_batch(**kwargs):
        batch = _batch.get()
        if batch is None:
            return create(**kwargs)
        entry = LogEntry(**kwargs)
        # What Model.save() would send: auditlog's context adds the actor and address here.
        signals.pre_save.send(sender=LogEntry, instance=entry, raw=False, using="default", update_fields=None)
        batch.append(entry)
        return entry

    manager.create = create_or_batch
    manager._batching_installed = True


@contextmanager
def batched_entries(insert=None):
    """Audit entries written inside the block (by auditlog's own receivers, so with the
    same content, actor and scope) are inserted together when it ends, in one statement
    per thousand: the import of a large file writes thousands of them.

    ``insert(LogEntry, entries)``, if given, inserts them instead of ``bulk_create`` (the
    import's own bulk insert, imports.importer.insert_rows)."""
    _install_batching()
    entries: list = []
    token = _batch.set(entries)
    try:
        yield entries
    finally:
        _batch.reset(token)
    if insert is None:
        LogEntry.objects.bulk_create(entries, batch_size=1000)
    else:
        insert(LogEntry, entries)
    for entry in entries:
        signals.post_save.send(
            sender=LogEntry, instance=entry, created=True, raw=False, using="default", update_fields=None
        )
