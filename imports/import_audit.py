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
"""

from contextlib import contextmanager

from auditlog.context import disable_auditlog
from auditlog.diff import get_field_value, get_fields_in_model
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from auditlog.signals import post_log, pre_log
from django.conf import settings
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


def log_created(model, objects: list) -> None:
    """Audit entries for ``objects`` of ``model`` just inserted: what auditlog's receiver
    writes for each save() that creates a row."""
    if not objects or not auditlog.contains(model):
        return
    fields = tracked_fields(model, objects[0])
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
