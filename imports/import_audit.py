"""The audit entries of rows the import inserts in bulk, written without auditlog's per-row cost.

``imports.importer.bulk_save`` inserts thousands of new patients, pumps, fills and
appointments at once. Each used to go through auditlog's post_save receiver, which
gathers and filters the model's fields again for every object (``model_instance_diff``)
before creating the entry: a third of a large import's time (bench/FINDINGS.md, issue 13).

``log_created`` writes the very same entries: the fields are gathered and filtered once
per model exactly as auditlog does (``model_instance_diff``), each value is read with
auditlog's own ``get_field_value``, and the entry is made by auditlog's own
``LogEntry.objects.log_create`` (content type, representation, scope, correlation id, and
the actor through ``clinic.audit.batched_entries``). tests/test_import_audit.py checks
the entries against auditlog's own, field by field.

On PostgreSQL (``copy_rows_ready``) the entries are not model objects: ``created_rows``
makes the table rows ``log_create`` would store (the same values, the actor and the
rest of auditlog's context read once from its ``pre_save`` on one unsaved entry) and
``copy_entries`` writes them with COPY, row after row in the same order: a LogEntry
object, its signals and ``get_db_prep_save`` per value were a quarter of a large
import's time (bench/FINDINGS.md, issue 13, second pass).
"""

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from auditlog.cid import get_cid
from auditlog.context import disable_auditlog
from auditlog.diff import get_field_value, get_fields_in_model
from auditlog.models import DEFAULT_OBJECT_REPR, LogEntry
from auditlog.registry import auditlog
from auditlog.signals import post_log, pre_log
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db import connections
from django.db.models import DateTimeField, JSONField, signals
from django.utils import timezone
from django.utils.encoding import smart_str


def tracked_fields(model, instance) -> list | None:
    """The fields auditlog compares for a created ``model`` object, in auditlog's order;
    None when the model needs auditlog's own path (masked fields, JSON changes)."""
    model_fields = auditlog.get_model_fields(model)
    if model_fields["mask_fields"] or getattr(settings, "AUDITLOG_STORE_JSON_CHANGES", False):
        return None
    fields = set(get_fields_in_model(instance))  # as model_instance_diff(None, instance)
    if model_fields["include_fields"] or model_fields["exclude_fields"]:
        filtered = fields
        if model_fields["include_fields"]:
            filtered = [f for f in fields if f.name in model_fields["include_fields"]]
        if model_fields["exclude_fields"]:
            filtered = [f for f in filtered if f.name not in model_fields["exclude_fields"]]
        fields = filtered
    # A reverse one-to-one relation (another model's OneToOneField to this one) is read by
    # auditlog with a query per object; a row just inserted has no such related row yet,
    # so its value is None before and after and never in the entry: not read.
    fields = [field for field in fields if not (field.one_to_one and field.auto_created and not field.concrete)]
    return [(field, get_field_value(None, field)) for field in fields]


def created_changes(fields, instance) -> dict | None:
    """model_instance_diff(None, instance) for the given (field, value of None) pairs."""
    diff = {}
    for field, old_value in fields:
        new_value = get_field_value(instance, field)
        if old_value != new_value:
            diff[field.name] = (smart_str(old_value), smart_str(new_value))
    return diff or None


def value_reader(field):
    """``lambda obj: get_field_value(obj, field)``, its branch chosen once per field
    instead of once per value (the same steps, in auditlog's order)."""
    if isinstance(field, DateTimeField | JSONField):
        return lambda obj: get_field_value(obj, field)
    if (
        not settings.AUDITLOG_USE_FK_STRING_REPRESENTATION
        and (field.one_to_one or field.many_to_one)
        and hasattr(field, "rel_class")
    ):
        attname = field.get_attname()
        return lambda obj: smart_str(getattr(obj, attname), strings_only=True)
    name = field.name
    if field.one_to_many and field.auto_created and not field.concrete:
        # Another model's foreign key to this one: auditlog's value is the related manager's
        # text ("reminders.Reminder.None"), its model's label and no name, the same for every
        # object: made once (a manager per object was 3% of a large import).
        text = []

        def read_reverse(obj):
            if not text:
                text.append(smart_str(getattr(obj, name)))
            return text[0]

        return read_reverse

    def read(obj):
        try:
            value = getattr(obj, name)
        except (ObjectDoesNotExist, AttributeError):
            return get_field_value(obj, field)  # auditlog's default value
        value = smart_str(value)
        return str(value) if type(value).__name__ == "__proxy__" else value

    return read


def created_rows(model, fields, objects: list) -> Iterator[list]:
    """The LogEntry table rows (``ENTRY_COLUMNS``) that ``LogEntry.objects.log_create``
    and auditlog's actor receiver (its ``pre_save`` on the entry) make for ``objects``
    just created: content type, key, representation, changes, scope, correlation id,
    actor and whatever else the auditlog context sets, and the time of the entry.

    What may query the database (the content type, the context) is read at once; the
    rows are made one by one as they are consumed, so ``copy_entries`` sends each while
    the next is made and PostgreSQL indexes the entries meanwhile instead of after."""
    # smart_str(old_value) once per field; smart_str of a str is that str.
    readers = [(field.name, old_value, smart_str(old_value), value_reader(field)) for field, old_value in fields]
    content_type_id = ContentType.objects.get_for_model(objects[0]).pk
    # What the context's receivers set on an entry (actor, actor's email, address): the
    # same for every entry of the import, so read once from one unsaved entry.
    probe, plain = LogEntry(), LogEntry()
    signals.pre_save.send(sender=LogEntry, instance=probe, raw=False, using="default", update_fields=None)
    context = {name: getattr(probe, name) for name in ENTRY_COLUMNS if getattr(probe, name) != getattr(plain, name)}
    context.pop("timestamp", None)
    return _entry_rows(objects, readers, content_type_id, context, get_cid())


def _entry_rows(objects: list, readers: list, content_type_id: int, context: dict, cid) -> Iterator[list]:
    action = LogEntry.Action.CREATE
    for instance in objects:
        diff = {}
        for name, old_value, old_text, read in readers:
            new_value = read(instance)
            if old_value != new_value:
                diff[name] = (old_text, new_value if type(new_value) is str else smart_str(new_value))
        if not diff:
            continue
        pk = instance.pk
        try:
            object_repr = smart_str(instance)
        except ObjectDoesNotExist:
            object_repr = DEFAULT_OBJECT_REPR
        get_additional_data = getattr(instance, "get_additional_data", None)
        entry = {
            "content_type_id": content_type_id,
            "object_pk": str(pk),
            "object_id": pk if isinstance(pk, int) else None,
            "object_repr": object_repr,
            "serialized_data": None,
            "action": action,
            "changes_text": "",
            "changes": json.dumps(diff),
            "actor_id": None,
            "cid": cid,
            "remote_addr": None,
            "remote_port": None,
            "timestamp": timezone.now(),
            "additional_data": json.dumps(get_additional_data()) if callable(get_additional_data) else None,
            "actor_email": None,
        }
        entry.update(context)
        yield [entry[name] for name in ENTRY_COLUMNS]


# LogEntry's columns but its key (which the table's identity gives, row after row).
ENTRY_COLUMNS = tuple(f.attname for f in LogEntry._meta.concrete_fields if f is not LogEntry._meta.pk)


def copy_rows_ready(model, fields) -> bool:
    """Whether ``log_created`` may write ``model``'s entries as table rows (COPY): on
    PostgreSQL, for a model auditlog diffs field by field without serialized data, when
    nothing listens to the entries' signals other than auditlog's context (pre_save)."""
    return (
        fields is not None
        and connections[LogEntry.objects.db].vendor == "postgresql"
        and not auditlog.get_serialize_options(model)["serialize_data"]
        and not pre_log.has_listeners(model)
        and not post_log.has_listeners(model)
        and not signals.post_save.has_listeners(LogEntry)
    )


def copy_entries(rows: Iterable[list]) -> None:
    connection = connections[LogEntry.objects.db]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(LogEntry._meta.get_field(name).column) for name in ENTRY_COLUMNS)
    statement = f"COPY {quote(LogEntry._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def log_created(model, objects: list) -> None:
    """Audit entries for ``objects`` of ``model`` just inserted: what auditlog's receiver
    writes for each save() that creates a row."""
    if not objects or not auditlog.contains(model):
        return
    fields = tracked_fields(model, objects[0])
    if copy_rows_ready(model, fields):
        copy_entries(created_rows(model, fields, objects))
        return
    action = LogEntry.Action.CREATE
    for instance in objects:
        if fields is None:  # auditlog's own path, exactly
            from auditlog.receivers import log_create

            log_create(sender=model, instance=instance, created=True)
            continue
        pre_log_results = pre_log.send(model, instance=instance, action=action)
        if any(item[1] is False for item in pre_log_results):
            continue
        changes = created_changes(fields, instance)
        entry = LogEntry.objects.log_create(instance, action=action, changes=changes) if changes else None
        if entry is not None:
            post_log.send(
                model,
                instance=instance,
                instance_old=None,
                action=action,
                error=None,
                pre_log_results=pre_log_results,
                changes=changes,
                log_entry=entry,
                log_created=True,
                use_json_for_changes=False,
            )


@contextmanager
def without_receivers():
    """auditlog's receivers skip the saves inside (log_created writes their entries)."""
    with disable_auditlog():
        yield
