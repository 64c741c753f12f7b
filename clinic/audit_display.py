"""The audit trail in the clinic's words (SPEC 8): field labels, human values, no internal ids.

django-auditlog stores each change as text: a foreign key as the related row's id, a
choice as its code, a boolean as "True", a decimal as "20.00". ``describe_entries`` turns a
page of entries into rows a clinician reads: "Pump: SynchroMed II 20 mL, serial N1",
"Dosing mode: Simple continuous", "Compounded concentration: No", "Volume removed (mL): 4".
Ids, reverse relations, the clinic itself and columns derived from other events are left
out. Related rows are read in one query per model for the whole page, never per entry.
"""

import json
import re
import zoneinfo
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from auditlog.models import LogEntry
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.utils import formats
from django.utils.translation import gettext as _

from clinic.display import day, member_name, qty, signed_qty
from clinic.scoping import scope_of

EMPTY = "—"
WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

# Never shown on any model: ids, the clinic (every entry of a page is the clinic's own), the
# patient (the page's subject, or named in the "What" column of the clinic's trail) and the
# timestamps kept by the database. Each model's own columns left out of the trail (a pump's
# derived dates and booking state, a feed's token hash...) are read from its audit
# declaration (``clinic_scope``'s exclude_fields / include_fields), never repeated here: an
# older entry recorded before a column was excluded does not show it either.
HIDDEN_FIELDS = frozenset({"id", "clinic", "patient", "created_at", "updated_at"})
SIGNED_FIELDS = frozenset({"residual_discrepancy_ml"})  # a discrepancy always carries its sign


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class AuditRow:
    """One audit entry as shown: when, who, what, the action in words, and the changes."""

    entry: LogEntry
    when: str
    who: str
    what: str
    action: str
    patient: str = ""
    changes: list[Change] = field(default_factory=list)
    # An update shows old -> new; an addition, deletion or export one value per change (in ``new``).
    shows_both: bool = True


# How a related row is named: (the relations to read with it, the function that names it).
def _user(user) -> str:
    return member_name(user)


def _pump(pump) -> str:
    return _("%(model)s, serial %(serial)s") % {"model": pump.model.name, "serial": pump.serial_number}


def _patient(patient) -> str:
    return f"{patient.last_name}, {patient.first_name} ({patient.mrn})"  # as the entries describe a patient


def _membership(membership) -> str:
    return f"{_user(membership.user)} ({membership.get_role_display()})"


def _feed(feed) -> str:
    return _("%(scope)s, of %(user)s") % {"scope": feed.get_scope_display(), "user": _user(feed.user)}


NAMERS = {
    "auth.user": ((), _user),
    "patients.pumpmodel": ((), lambda model: model.name),
    "patients.pump": (("model",), _pump),
    "patients.patient": ((), _patient),
    "clinic.clinic": ((), lambda clinic: clinic.name),
    "clinic.membership": (("user",), _membership),
    "clinic.calendarfeed": (("user",), _feed),
}
# The "What" of most entries comes from the description auditlog stored with it (no query):
# a fill's and a visit's hold their date, a patient's the name and MRN, a pump's the model
# code (named from the small pump model table). Members and feeds are read live: their
# descriptions hold ids and usernames.
LIVE_MODELS = frozenset({"clinic.membership", "clinic.calendarfeed"})
FILL_REPR = re.compile(r"^(?:Refill|Program change) (\d{4}-\d{2}-\d{2})(?: of \d+)?$")
VISIT_REPR = re.compile(r"^(.+) (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})$")


def _name(obj) -> str:
    namer = NAMERS.get(obj._meta.label_lower)
    return namer[1](obj) if namer else str(obj)


def _load(model, pks) -> dict:
    """The rows of ``model`` with these primary keys, by pk, in one query."""
    related = NAMERS.get(model._meta.label_lower, ((), None))[0]
    if model._meta.label_lower == "patients.pumpmodel":
        return model._default_manager.in_bulk()  # a few reference rows: all, for codes and ids alike
    return model._default_manager.select_related(*related).in_bulk(pks)


def format_date(value) -> str:
    """Wed 25 Nov 2026 (SPEC 8, the project's format module)."""
    return day(value)


def format_moment(value) -> str:
    return formats.date_format(value, "DATETIME_FORMAT")


def format_number(text: str, *, signed: bool = False) -> str:
    """A decimal without trailing zeros (20.00 -> 20), a discrepancy with its sign; exact."""
    try:
        Decimal(text)
    except InvalidOperation:
        return text
    return signed_qty(text) if signed else qty(text)


def _empty(value) -> bool:
    return value is None or value in ("", "None")


def _audited(model, name: str) -> bool:
    """Whether the model's audit declaration records that field."""
    scope = scope_of(model)
    options = (scope.audit if scope is not None else None) or {}
    if options.get("include_fields"):
        return name in options["include_fields"]
    return name not in options.get("exclude_fields", ())


def _model_field(model, name: str):
    """The model's concrete field of that name, or None for what a clinician never sees."""
    if model is None or name in HIDDEN_FIELDS or not _audited(model, name):
        return None
    try:
        model_field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if not getattr(model_field, "concrete", False) or model_field.primary_key or model_field.many_to_many:
        return None  # the id, and reverse relations ("program changes: refills.ProgramChange.None")
    return model_field


class _Values:
    """Formats stored values; related rows are gathered first, then read once per model."""

    def __init__(self, zone):
        self.zone = zone
        self.wanted: dict = defaultdict(set)
        self.pump_codes: set = set()
        self.loaded: dict = {}

    def want(self, model_field, value) -> None:
        if model_field.is_relation and not _empty(value):
            with suppress(ValidationError):  # a legacy value that is not an id: shown as text
                self.wanted[model_field.related_model].add(model_field.related_model._meta.pk.to_python(value))

    def know(self, obj) -> None:
        """A row the page already holds (an entry's actor, the patient's pumps): not read again."""
        if obj is not None:
            self.loaded.setdefault(type(obj), {})[obj.pk] = obj

    def load(self) -> None:
        for model, pks in self.wanted.items():
            known = self.loaded.setdefault(model, {})
            missing = pks - known.keys()
            if model._meta.label_lower == "patients.pumpmodel":
                missing = missing or self.pump_codes - {pump_model.code for pump_model in known.values()}
            if missing:
                known.update(_load(model, missing))

    def pump_model_names(self) -> dict:
        """Pump model code -> name, when the page has pump entries or pump model values."""
        pump_models = self.loaded.get(apps.get_model("patients", "PumpModel"), {})
        return {pump_model.code: pump_model.name for pump_model in pump_models.values()}

    def show(self, model_field, value) -> str:
        if _empty(value):
            return EMPTY
        text = str(value)
        if model_field.is_relation:
            model = model_field.related_model
            try:
                obj = self.loaded.get(model, {}).get(model._meta.pk.to_python(text))
            except ValidationError:
                obj = None
            if obj is None:
                return _("(deleted %(what)s)") % {"what": model._meta.verbose_name}
            return _name(obj)
        if model_field.choices:
            labels = {str(code): label for code, label in model_field.flatchoices}
            return str(labels.get(text, text)) if text in labels else text
        kind = model_field.get_internal_type()
        if kind == "BooleanField":
            return _("Yes") if text == "True" else _("No") if text == "False" else text
        if kind == "DateField":
            try:
                return format_date(date.fromisoformat(text[:10]))
            except ValueError:
                return text
        if kind == "DateTimeField":
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                return text
            if moment.tzinfo is not None:
                moment = moment.astimezone(self.zone)
            return format_moment(moment)
        if kind == "TimeField":
            try:
                return time.fromisoformat(text).strftime("%H:%M")
            except ValueError:
                return text
        if kind == "DecimalField":
            return format_number(text, signed=model_field.name in SIGNED_FIELDS)
        if kind == "JSONField":
            return self.json_list(model_field, text)
        return text

    def json_list(self, model_field, text: str) -> str:
        try:
            items = json.loads(text)
        except ValueError:
            return text
        if isinstance(items, dict):
            # A mapping (a MAS score per muscle group): "Hip adductors, left 2; ...", each key in
            # the words its model gives (audit_json_labels), else as written.
            labels_of = getattr(model_field.model, "audit_json_labels", None)
            labels = labels_of(model_field.name) if labels_of else {}
            return "; ".join(f"{labels.get(key, key)} {value}" for key, value in items.items()) or EMPTY
        if not isinstance(items, list):
            return text
        if not items:
            return EMPTY
        # A list of records (a trial's scores at each time point): in the words its model gives.
        text_of = getattr(model_field.model, "audit_json_text", None)
        if text_of is not None and (words := text_of(model_field.name, items)) is not None:
            return words
        if model_field.name == "working_days":
            return ", ".join(WEEKDAY_NAMES[day] if isinstance(day, int) and 0 <= day < 7 else str(day) for day in items)
        return ", ".join(str(item) for item in items)


ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
ID_SUFFIX = re.compile(r" (of \d+( @ \d+)?|@ \d+)$")


def _date_words(iso: str) -> str:
    try:
        return format_date(date.fromisoformat(iso))
    except ValueError:
        return iso


def _clean_repr(text: str) -> str:
    """A stored description without ids and with dates in words."""
    return ISO_DATE.sub(lambda match: _date_words(match.group(1)), ID_SUFFIX.sub("", text))


ACTIONS = {
    LogEntry.Action.CREATE: _("Added"),
    LogEntry.Action.UPDATE: _("Changed"),
    LogEntry.Action.DELETE: _("Deleted"),
    LogEntry.Action.ACCESS: _("Exported"),
}


def describe_entries(entries, *, zone=None, with_patient: bool = False, known=()) -> list[AuditRow]:
    """The entries as rows to show. Queries: one per model of the values shown (members,
    pumps, pump models) unless ``known`` (rows the page already read) and the entries' actors
    hold them all, one for members' and feeds' own entries, one for the patients when
    ``with_patient``: bounded by the number of models, whatever the number of entries."""
    entries = list(entries)
    zone = zone or zoneinfo.ZoneInfo("UTC")
    values = _Values(zone)
    for obj in known or ():
        values.know(obj)
        if obj._meta.label_lower == "patients.pump":
            values.know(obj.model)  # read with the pump (select_related)
    objects: dict = defaultdict(set)
    patients: set = set()
    plans = []
    for entry in entries:
        model = entry.content_type.model_class() if entry.content_type_id else None
        fields = []
        if entry.action != LogEntry.Action.ACCESS:
            for name, pair in (entry.changes_dict or {}).items():
                model_field = _model_field(model, name)
                if model_field is None or not isinstance(pair, list | tuple) or len(pair) != 2:
                    continue
                fields.append((model_field, pair))
                for value in pair:
                    values.want(model_field, value)
            fields.sort(key=lambda item: _position(model, item[0].name))
        if model is not None and entry.object_id is not None and entry.action != LogEntry.Action.ACCESS:
            label = model._meta.label_lower
            if label in LIVE_MODELS:
                objects[model].add(entry.object_id)
            elif label == "patients.pump":  # described as "code serial": the code names the model
                values.wanted[apps.get_model("patients", "PumpModel")]
                values.pump_codes.add(entry.object_repr.split(" ", 1)[0])
        patient_id = (entry.additional_data or {}).get("patient_id") if with_patient else None
        if patient_id and model is not apps.get_model("patients", "Patient"):
            patients.add(patient_id)
        plans.append((entry, model, fields, patient_id))

    for entry in entries:
        values.know(entry.actor)  # read with the entries
    values.load()
    live = {model: _load(model, pks) for model, pks in objects.items()}
    patient_rows = _load(apps.get_model("patients", "Patient"), patients) if patients else {}

    rows = []
    for entry, model, fields, patient_id in plans:
        row = AuditRow(
            entry=entry,
            when=format_moment(entry.timestamp.astimezone(zone)),
            who=_who(entry),
            what=_what(entry, model, live, values.pump_model_names()),
            action=str(ACTIONS.get(entry.action, entry.get_action_display())),
            patient=_patient(patient_rows[patient_id]) if patient_id in patient_rows else "",
        )
        if entry.action == LogEntry.Action.ACCESS:
            row.changes = _export_changes(entry)
            row.shows_both = False
        else:
            row.shows_both = entry.action == LogEntry.Action.UPDATE
            for model_field, (old, new) in fields:
                label = _label(model_field)
                old, new = values.show(model_field, old), values.show(model_field, new)
                if row.shows_both:
                    if old != new:
                        row.changes.append(Change(label, old, new))
                    continue
                # An added row lists the values recorded, a deleted one the values it had.
                value = new if entry.action == LogEntry.Action.CREATE else old
                if not _says_nothing(model_field, value):
                    row.changes.append(Change(label, "", value))
        rows.append(row)
    return rows


FIRST_FIELDS = ("pump",)  # which pump a fill or visit is for, before its values
LAST_FIELDS = ("notes", "review_note")  # free text after the values


def _position(model, name: str) -> tuple:
    names = [f.name for f in model._meta.concrete_fields]
    group = 0 if name in FIRST_FIELDS else 2 if name in LAST_FIELDS else 1
    return (group, names.index(name) if name in names else len(names))


def _label(model_field) -> str:
    return _capfirst(str(model_field.verbose_name))


def _says_nothing(model_field, value: str) -> bool:
    """On an added or deleted row, an empty value or an unticked box adds nothing to read."""
    return value == EMPTY or (model_field.get_internal_type() == "BooleanField" and value == _("No"))


def _who(entry) -> str:
    if entry.actor_id and entry.actor is not None:
        return _user(entry.actor)
    via = (entry.additional_data or {}).get("via")
    return _("Via %(via)s") % {"via": via} if via else _("System")


def _what(entry, model, live, pump_model_names: dict) -> str:
    if entry.action == LogEntry.Action.ACCESS:
        return _capfirst(_clean_repr(entry.object_repr))
    kind = str(model._meta.verbose_name) if model is not None else str(entry.content_type.name)
    return f"{_capfirst(kind)}: {_describe(entry, model, kind, live, pump_model_names)}"


def _describe(entry, model, kind: str, live, pump_model_names: dict) -> str:
    label = model._meta.label_lower if model is not None else ""
    stored = entry.object_repr
    obj = live.get(model, {}).get(entry.object_id) if label in LIVE_MODELS else None
    if obj is not None:
        return _name(obj)
    if label in ("refills.refill", "refills.programchange") and (match := FILL_REPR.match(stored)):
        return _date_words(match.group(1))
    if label == "refills.appointment" and (match := VISIT_REPR.match(stored)):
        kind_name, day, at = match.groups()
        return _("%(kind)s visit on %(date)s at %(time)s") % {"kind": kind_name, "date": _date_words(day), "time": at}
    if label == "patients.pump" and " " in stored:
        code, serial = stored.split(" ", 1)
        if code in pump_model_names:
            return _("%(model)s, serial %(serial)s") % {"model": pump_model_names[code], "serial": serial}
    text = _clean_repr(stored)
    if text.lower().startswith(kind.lower() + " "):  # e.g. a deleted membership's "... (staff)"
        text = text[len(kind) + 1 :]
    return text


def _capfirst(text: str) -> str:
    return text[:1].upper() + text[1:]


def _export_changes(entry) -> list[Change]:
    """log_export stores {"export": [what, "csv, 12 rows"]}."""
    pair = (entry.changes_dict or {}).get("export")
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return []
    return [Change(_("Export"), "", f"{_clean_repr(str(pair[0]))} ({pair[1]})")]
