"""Import a clinic's caseload from a spreadsheet (SPEC section 7).

One code path for the command and the browser upload: ``run_import`` reads the file
(``read_table``), checks each row through the app's own forms (PatientForm, PumpForm,
RefillForm, AppointmentForm: one set of rules) and writes it, all in one transaction
that commits only when every row is valid and this is not a dry run.

Rows are checked by saving them inside that transaction, each in its own savepoint,
because the refill rules read the pump's earlier fills from the database. A preview is
therefore the very same run, rolled back: what it reports is what applying does.

A row whose patient (MRN) and pump (serial) the clinic does not have yet has no earlier
fills to read: it is checked through the same forms against unsaved objects, and the new
rows are written together at the end (bulk inserts, with their audit entries from
auditlog's own receivers), so a first import of 10,000 rows takes seconds, not minutes.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import PurePath

from django.db import connections, models, transaction
from django.db.models import signals
from django.forms import BaseForm
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic import caseload_cache
from clinic.audit import batched_entries
from clinic.models import Clinic
from imports import import_audit
from imports.columns import COLUMNS, Problem, SourceRow, Table, parse_cells, read_csv, read_xlsx
from imports.unrendered import unrendered
from patients.forms import PatientForm, PumpForm
from patients.models import Patient, Pump, PumpModel
from refills import services
from refills.forms import AppointmentForm, RefillForm
from refills.models import Appointment, DosingMode, Refill

ENTITIES = ("patient", "pump", "refill", "appointment")
CREATED, CHANGED, UNCHANGED = "created", "changed", "unchanged"

# Form field -> the file's column its errors are reported against.
PATIENT_COLUMNS = {
    "mrn": "mrn",
    "first_name": "first_name",
    "last_name": "last_name",
    "date_of_birth": "date_of_birth",
    "email": "email",
    "phone": "phone",
    "reminders_opt_in": "reminders_opt_in",
}
PUMP_COLUMNS = {
    "model": "pump_model",
    "serial_number": "serial_number",
    "reservoir_ml": "reservoir_ml",
    "alarm_volume_ml": "alarm_volume_ml",
    "implant_date": "implant_date",
    "eri_date": "eri_date",
}
REFILL_COLUMNS = {
    "performed_on": "last_refill_date",
    "volume_after_ml": "volume_after_refill_ml",
    "concentration_mcg_ml": "concentration_mcg_ml",
    "daily_dose_mcg": "daily_dose_mcg",
    "bolus_allowance_mcg": "bolus_allowance_mcg",
    "compounded": "compounded",
}
# Refill form fields the file has no column for: their errors belong to these columns.
REFILL_ERROR_COLUMNS = {
    "volume_removed_ml": "last_refill_date",
    "bridge_bolus_confirmed": "concentration_mcg_ml",
    "confirm_unusual_dose": "daily_dose_mcg",
}
# A fill's volumes are checked against its pump's reservoir; while the pump's columns are
# invalid, only against the largest reservoir PumpForm allows.
VOLUME_FIELDS = ("volume_after_ml", "volume_removed_ml", "volume_added_ml")
MAX_RESERVOIR_ML = Decimal(100)
UNKNOWN_RESERVOIR_VOLUME = gettext_lazy(
    "The volume must be more than 0 and at most 100 mL (the largest reservoir); it is checked against "
    "this pump's own reservoir once the pump's columns are valid."
)
APPOINTMENT_COLUMNS = {"local_date": "next_appointment", "local_time": "next_appointment"}
REFILL_TRIGGERS = ("last_refill_date", "volume_after_refill_ml", "concentration_mcg_ml", "daily_dose_mcg")

READERS = {"csv": read_csv, "xlsx": read_xlsx}
COLUMN_ORDER = {column: index for index, column in enumerate(COLUMNS)}


@dataclass
class RowResult:
    """What one row of the file does (or would do), or why it cannot."""

    line: int
    mrn: str
    actions: dict[str, str] = field(default_factory=dict)  # entity -> created/changed/unchanged
    changed_fields: dict[str, list[str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # accepted, but the clinic should know

    def problem(self, column: str | None, message) -> None:
        self.problems.append(Problem(self.line, column, str(message)))

    def warn(self, column: str | None, message) -> None:
        self.warnings.append(Problem(self.line, column, str(message)))

    def describe(self) -> str:
        """One line for the operator: row, MRN and actions; never names or doses."""
        parts = []
        for entity in ENTITIES:
            action = self.actions.get(entity)
            if action is None:
                continue
            fields = self.changed_fields.get(entity)
            parts.append(f"{entity} {action}" + (f" ({', '.join(fields)})" if fields else ""))
        return f"row {self.line} (MRN {self.mrn}): {', '.join(parts) or _('nothing to do')}"


@dataclass
class ImportResult:
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)
    file_problems: list[Problem] = field(default_factory=list)
    file_warnings: list[Problem] = field(default_factory=list)
    applied: bool = False

    @property
    def problems(self) -> list[Problem]:
        return self.file_problems + [problem for row in self.rows for problem in row.problems]

    @property
    def warnings(self) -> list[Problem]:
        return self.file_warnings + [warning for row in self.rows for warning in row.warnings]

    @property
    def rows_with_problems(self) -> int:
        return sum(1 for row in self.rows if row.problems)

    @property
    def rows_with_warnings(self) -> int:
        return sum(1 for row in self.rows if row.warnings)

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, dict[str, int]]:
        counts = {entity: {CREATED: 0, CHANGED: 0} for entity in ENTITIES}
        for row in self.rows:
            for entity, action in row.actions.items():
                if action in (CREATED, CHANGED):
                    counts[entity][action] += 1
        return counts

    def summary_lines(self) -> list[str]:
        counts = self.counts()
        lines = [f"{entity}s: {c[CREATED]} created, {c[CHANGED]} changed" for entity, c in counts.items()]
        created = sum(c[CREATED] for c in counts.values())
        changed = sum(c[CHANGED] for c in counts.values())
        lines.append(f"total ({len(self.rows)} rows): {created} created, {changed} changed")
        return lines


def read_table(source, filename: str | None = None, column_map: dict[str, str] | None = None) -> Table:
    """Read an upload with the reader its file name asks for (CSV by default).

    ``column_map`` (file header -> caseload column, or "" to ignore) comes from the
    browser's mapping step for files whose headers differ from SPEC section 7.
    """
    kind = PurePath(filename).suffix.lstrip(".").lower() if filename else ""
    return READERS.get(kind, read_csv)(source, column_map)


def run_import(
    clinic: Clinic,
    source,
    *,
    filename: str | None = None,
    dry_run: bool = False,
    column_map: dict[str, str] | None = None,
    progress=None,
) -> ImportResult:
    """Check every row of ``source`` and write them all, or nothing if any is invalid.

    ``source`` is bytes, text or a file-like object. With ``dry_run`` (a preview) the
    same work is done and rolled back. ``progress(rows_checked, rows_total)``, if given,
    is called once the file is read and after each row (imports.import_jobs).
    """
    table = read_table(source, filename, column_map)
    result = ImportResult(
        dry_run=dry_run,
        file_problems=list(table.problems),
        file_warnings=[Problem(None, None, warning) for warning in table.warnings],
    )
    if table.problems:
        return result
    importer = RowImporter(clinic)
    total = len(table.rows)
    if progress is not None:
        progress(0, total)
    with transaction.atomic(), caseload_cache.one_change(clinic.pk):
        for checked, row in enumerate(table.rows, start=1):
            result.rows.append(importer.import_row(row))
            if progress is not None:
                progress(checked, total)
        if result.ok:
            importer.write_new_rows()
        if dry_run or not result.ok:
            transaction.set_rollback(True)
    result.applied = not dry_run and result.ok
    return result


@dataclass
class NewRow:
    """A checked row for a new patient and pump, written by RowImporter.write_new_rows."""

    patient: Patient
    pump: Pump
    refill: Refill | None
    appointment: Appointment | None


def bulk_save(model, objects: list) -> None:
    """Insert ``objects`` in batches, sending the signals save() sends; their audit entries,
    the same as auditlog's receivers write, come from imports.import_audit (faster)."""
    with import_audit.without_receivers():
        for obj in objects:
            signals.pre_save.send(sender=model, instance=obj, raw=False, using="default", update_fields=None)
        insert_rows(model, objects)
        for obj in objects:
            signals.post_save.send(
                sender=model, instance=obj, created=True, raw=False, using="default", update_fields=None
            )
    import_audit.log_created(model, objects)


def insert_rows(model, objects: list) -> None:
    """``model.objects.bulk_create(objects)`` for new objects, written with COPY on PostgreSQL.

    Django's bulk insert builds its SQL value by value and psycopg escapes each value
    into the arrays of an ``UNNEST`` in Python: a sixth of a large import's time (issue
    13). COPY sends the same rows in psycopg's C code. What bulk_create does around the
    insert is done the same way: related objects' keys copied (``_prepare_related_fields_
    for_save``), each field's ``pre_save`` (``auto_now_add``) and ``get_db_prep_save``, the
    primary keys (taken from the table's sequence first, as the insert would), and the
    objects marked saved. A generated column (computed by the database) is left to be read
    on first use, as after ``save()``."""
    connection = connections[model.objects.db]
    if connection.vendor != "postgresql" or not objects:
        model.objects.bulk_create(objects, batch_size=1000)
        return
    opts = model._meta
    for obj in objects:
        assert obj.pk is None, "insert_rows writes new rows only"
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    fields = [f for f in opts.concrete_fields if not f.generated and f is not opts.pk]
    generated = [f.attname for f in opts.concrete_fields if f.generated]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [quote(opts.db_table), opts.pk.column, len(objects)],
        )
        keys = sorted(row[0] for row in cursor.fetchall())
        columns = ", ".join(quote(f.column) for f in (opts.pk, *fields))
        with cursor.cursor.copy(f"COPY {quote(opts.db_table)} ({columns}) FROM STDIN") as copy:
            for key, obj in zip(keys, objects, strict=True):
                obj.pk = key
                copy.write_row(
                    [key, *(field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields)]
                )
    for obj in objects:
        obj._state.adding = False
        obj._state.db = model.objects.db
        for attname in generated:
            obj.__dict__.pop(attname, None)


class RowRejected(Exception):
    """Rolls one row's savepoint back."""


@dataclass
class RowContext:
    values: dict  # column -> typed value, for the cells given
    bad: set[str]  # columns whose cells could not be read (already reported)
    outcome: RowResult

    def problem(self, column: str, message) -> None:
        if column not in self.bad:
            self.outcome.problem(column, message)


class RowImporter:
    """Imports rows one by one for a clinic, remembering MRNs and serials already seen."""

    def __init__(self, clinic: Clinic):
        self.clinic = clinic
        self.today = clinic.today()
        self.now = timezone.localtime(timezone=clinic.zone)
        self.seen_mrns: dict[str, int] = {}
        self.seen_serials: dict[str, int] = {}
        # Read once: the pump models, and every MRN and serial the clinic already has.
        models_ = list(PumpModel.objects.all())
        self.models_by_code = {m.code: m for m in models_}
        self.models_by_pk = {m.pk: m for m in models_}
        self.known_mrns = set(Patient.objects.filter(clinic=clinic).values_list("mrn", flat=True))
        self.known_serials = set(Pump.objects.filter(clinic=clinic).values_list("serial_number", flat=True))
        self.new_rows: list[NewRow] = []
        # The first form of each class checking a new row: the later ones share its fields.
        self.first_forms: dict[type, BaseForm] = {}

    def new_row_form(self, form_class, data, **kwargs):
        """``form_class(data, **kwargs)`` for a new row, with the fields of the first such form
        (patients.forms.ClinicScopedForm: the same rules, without a deep copy per row)."""
        first = self.first_forms.get(form_class)
        # Never rendered: neither the translated ":" (label_suffix) nor the fields' ids
        # (auto_id) are looked up per form, nor its bound fields made (imports.unrendered).
        form = unrendered(form_class)(data, fields_of=first, label_suffix="", auto_id=False, **kwargs)
        if first is None:
            self.first_forms[form_class] = form
            for shared in form.fields.values():
                # Each bound field reads its field's help text, a translation looked up on
                # every read: read once for the forms of this import (its one language).
                shared.help_text = str(shared.help_text)
        return form

    def import_row(self, row: SourceRow) -> RowResult:
        outcome = self._check_row(row)
        # A row's problems in the order of the file's columns, as the clinic reads its spreadsheet.
        outcome.problems.sort(key=lambda problem: COLUMN_ORDER.get(problem.column, -1))
        outcome.warnings.sort(key=lambda warning: COLUMN_ORDER.get(warning.column, -1))
        return outcome

    def _check_row(self, row: SourceRow) -> RowResult:
        outcome = RowResult(row.line, row.cells.get("mrn", ""))
        values, bad = parse_cells(row, outcome.problems, self.models_by_code)
        context = RowContext(values, bad, outcome)
        if not self._first_in_file(context):
            # Not imported, but its other columns are still checked: every problem at once.
            self._check_new(context, identity_checked=False)
            return outcome
        mrn, serial = values.get("mrn"), values.get("serial_number")
        if mrn and serial and mrn not in self.known_mrns and serial not in self.known_serials:
            self._check_new(context)
            return outcome
        try:
            with transaction.atomic():
                self._import(context)
                if outcome.problems:
                    raise RowRejected
        except RowRejected:
            outcome.actions.clear()
            outcome.changed_fields.clear()
        return outcome

    def _first_in_file(self, context: RowContext) -> bool:
        """Refuse a second row for the same MRN or serial (it would overwrite the first)."""
        line = context.outcome.line
        unique = True
        for column, seen, name in (
            ("mrn", self.seen_mrns, _("MRN")),
            ("serial_number", self.seen_serials, _("serial number")),
        ):
            value = context.values.get(column)
            if value is None:
                continue
            if value in seen:
                # The column is named in the problem's prefix; the sentence says it in words.
                context.problem(
                    column, _("The same %(name)s is also on row %(row)s.") % {"name": name, "row": seen[value]}
                )
                unique = False
            else:
                seen[value] = line
        return unique

    def _import(self, context: RowContext) -> None:
        patient = self._patient(context) or self._stand_in_patient(context)
        pump = self._pump(context, patient)
        if pump.pk is None:
            # A stand-in too incomplete to save: check the fill and the visit without the database.
            self._check_new_refill(context, pump)
            self._check_new_appointment(context, patient, pump)
            return
        self._refill(context, pump)
        self._appointment(context, patient, pump)

    def _patient(self, context: RowContext) -> Patient | None:
        mrn = context.values.get("mrn")
        existing = Patient.objects.filter(clinic=self.clinic, mrn=mrn).first() if mrn else None
        data = form_data(existing, PatientForm, context.values, PATIENT_COLUMNS, {"status": Patient.Status.ACTIVE})
        form = PatientForm(data, instance=existing, clinic=self.clinic, today=self.today)
        patient = self._save(context, "patient", form, PATIENT_COLUMNS, anchor="mrn")
        report_warnings(context, form, PATIENT_COLUMNS)
        return patient

    def _pump(self, context: RowContext, patient: Patient) -> Pump | None:
        serial = context.values.get("serial_number")
        existing = (
            Pump.objects.filter(clinic=self.clinic, serial_number=serial).select_related("patient").first()
            if serial
            else None
        )
        blocked = False
        mrn = context.values.get("mrn")
        if existing is not None and mrn and existing.patient.mrn != mrn:
            context.problem(
                "serial_number",
                _("This serial number belongs to the pump of another patient (MRN %(mrn)s).")
                % {"mrn": existing.patient.mrn},
            )
            blocked = True
        elif existing is not None and existing.status != Pump.Status.ACTIVE:
            context.problem("serial_number", _("This pump is recorded as explanted; it cannot be imported again."))
            blocked = True
        elif existing is None and patient is not None and patient.pk:
            active = patient.pumps.filter(status=Pump.Status.ACTIVE).first()
            if active is not None:
                context.problem(
                    "serial_number",
                    _("The patient already has an active pump (serial %(serial)s): record its explant first.")
                    % {"serial": active.serial_number},
                )
                blocked = True
        data = form_data(existing, PumpForm, context.values, PUMP_COLUMNS)
        form = PumpForm(data, instance=existing, clinic=self.clinic, today=self.today, patient=patient)
        pump = self._save(context, "pump", form, PUMP_COLUMNS, anchor="serial_number", save=not blocked)
        if pump is None and existing is not None and not blocked:
            # The stored pump as it is (the form changed its copy): the fill is checked
            # against its own reservoir and earlier fills, and the row rolled back.
            return Pump.objects.get(pk=existing.pk)
        return pump or self._stand_in_pump(context, form, patient)

    # An invalid row is rolled back, so its later parts can still be checked against
    # a stand-in saved in the row's savepoint: every problem of a row is reported at once.

    def _stand_in_patient(self, context: RowContext) -> Patient:
        patient = Patient(
            clinic=self.clinic, mrn=f"?import-check-{context.outcome.line}", first_name="-", last_name="-"
        )
        patient.save()
        return patient

    def _stand_in_pump(self, context: RowContext, form: PumpForm, patient: Patient, save: bool = True) -> Pump:
        """A pump made of the form's valid fields, to check the row's fill and visit against.

        Saved (when ``save``) only if it has everything a pump needs. Without a valid
        reservoir it holds the largest one (``reservoir_known`` False): the fill is then
        checked for what does not depend on this pump's reservoir.
        """
        assert context.outcome.problems, "a stand-in is only for a row that will be rolled back"
        cleaned = getattr(form, "cleaned_data", {})

        def valid(name):
            return None if name in form.errors else cleaned.get(name)

        reservoir = valid("reservoir_ml")
        reservoir_known = reservoir is not None and 0 < reservoir <= MAX_RESERVOIR_ML
        pump = Pump(
            clinic=self.clinic,
            patient=patient,
            model=valid("model"),
            serial_number=f"?import-check-{context.outcome.line}",
            implant_date=valid("implant_date") or date.min,  # date.min: no implant date to be before
            reservoir_ml=reservoir if reservoir_known else MAX_RESERVOIR_ML,
            alarm_volume_ml=valid("alarm_volume_ml"),
            eri_date=valid("eri_date"),
            status=Pump.Status.EXPLANTED,  # never clashes with the patient's one active pump
        )
        pump.reservoir_known = reservoir_known
        complete = all(valid(name) for name in ("model", "implant_date", "alarm_volume_ml")) and reservoir_known
        if save and complete and patient.pk is not None:
            pump.save()
        return pump

    def _refill(self, context: RowContext, pump: Pump) -> None:
        if not any(column in context.values or column in context.bad for column in REFILL_TRIGGERS):
            return
        day = self._refill_date(context)
        existing = pump.refills.filter(performed_on=day).first() if day else None
        previous = pump.refills.exclude(pk=getattr(existing, "pk", None)).order_by("-performed_on", "-id").first()
        data = form_data(existing, RefillForm, context.values, REFILL_COLUMNS, {"dosing_mode": DosingMode.SIMPLE})
        # The file is the clinic's record of fills it has already given, so a dose
        # outside 20-1200 mcg/day counts as confirmed, and a concentration change since
        # the previous recorded fill as bridged (bridge bolus confirmed). Every other
        # SPEC section 4 rule still applies through RefillForm.
        data["confirm_unusual_dose"] = True
        concentration = data.get("concentration_mcg_ml")
        if previous is not None and concentration is not None and previous.concentration_mcg_ml != concentration:
            data["bridge_bolus_confirmed"] = True
        initial_fill = existing.is_initial_fill if existing else previous is None
        # The file has no residual column (SPEC section 7): a newer fill than the one on
        # record is taken without one, as the clinic's own record of a fill already given.
        form = RefillForm(
            data, instance=existing, pump=pump, today=self.today, initial_fill=initial_fill, residual_required=False
        )
        self._save(context, "refill", form, REFILL_COLUMNS | REFILL_ERROR_COLUMNS, anchor="last_refill_date")

    def _appointment(self, context: RowContext, patient: Patient, pump: Pump) -> None:
        when = context.values.get("next_appointment")
        if when is None:
            return
        day, at = when
        if Appointment.objects.filter(patient=patient, local_date=day, local_time=at).exists():
            context.outcome.actions["appointment"] = UNCHANGED
            return
        if day == self.today and at < self.now.time():
            context.problem("next_appointment", _("This appointment time has already passed."))
        elif Appointment.objects.filter(
            patient=patient, status=Appointment.Status.SCHEDULED, local_date__gte=self.today
        ).exists():
            context.outcome.warn(
                "next_appointment", _("The patient already has another scheduled appointment; both are kept.")
            )
        data = {"kind": Appointment.Kind.REFILL, "local_date": day, "local_time": at}
        form = AppointmentForm(data, patient=patient, today=self.today)
        form.instance.pump = pump
        self._save(context, "appointment", form, APPOINTMENT_COLUMNS, anchor="next_appointment")

    # A new patient with a new pump ------------------------------------------------------

    def _check_new(self, context: RowContext, identity_checked: bool = True) -> None:
        """Check a row for a new patient and pump through the same forms, against unsaved
        objects (a new pump has no earlier fills to read), and keep it for write_new_rows.

        ``identity_checked=False``: a row refused already (its MRN or serial is on an earlier
        row) whose other columns are checked all the same; it is never kept."""
        values, outcome = context.values, context.outcome
        known_mrns, known_serials = (self.known_mrns, self.known_serials) if identity_checked else (set(), set())
        patient_data = form_data(None, PatientForm, values, PATIENT_COLUMNS, {"status": Patient.Status.ACTIVE})
        patient_form = self.new_row_form(
            PatientForm, patient_data, clinic=self.clinic, today=self.today, known_mrns=known_mrns
        )
        if not patient_form.is_valid():
            report_errors(context, patient_form, PATIENT_COLUMNS, "mrn")
        report_warnings(context, patient_form, PATIENT_COLUMNS)
        patient = patient_form.instance
        patient.clinic = self.clinic
        pump_form = self.new_row_form(
            PumpForm,
            form_data(None, PumpForm, values, PUMP_COLUMNS),
            clinic=self.clinic,
            today=self.today,
            patient=patient,
            known_serials=known_serials,
            pump_models=self.models_by_pk,
        )
        if pump_form.is_valid():
            pump = pump_form.instance
            pump.clinic, pump.patient = self.clinic, patient
        else:
            report_errors(context, pump_form, PUMP_COLUMNS, "serial_number")
            pump = self._stand_in_pump(context, pump_form, patient, save=False)
        refill = self._check_new_refill(context, pump)
        appointment = self._check_new_appointment(context, patient, pump)
        if outcome.problems:
            return
        outcome.actions.update(patient=CREATED, pump=CREATED)
        if refill is not None:
            outcome.actions["refill"] = CREATED
        if appointment is not None:
            outcome.actions["appointment"] = CREATED
        self.new_rows.append(NewRow(patient, pump, refill, appointment))

    def _check_new_refill(self, context: RowContext, pump: Pump) -> Refill | None:
        if not any(column in context.values or column in context.bad for column in REFILL_TRIGGERS):
            return None
        self._refill_date(context)
        data = form_data(None, RefillForm, context.values, REFILL_COLUMNS, {"dosing_mode": DosingMode.SIMPLE})
        data["confirm_unusual_dose"] = True  # see _refill: the file records fills already given
        form = self.new_row_form(
            RefillForm, data, pump=pump, today=self.today, initial_fill=True, residual_required=False
        )
        if not form.is_valid():
            report_errors(context, form, REFILL_COLUMNS | REFILL_ERROR_COLUMNS, "last_refill_date", pump)
            return None
        refill = form.instance
        refill.pump, refill.is_initial_fill = pump, True  # what RefillForm.save() sets
        return refill

    def _refill_date(self, context: RowContext):
        """The refill's date; without one, a problem on its column, and its other columns are
        still checked by the form (whose own "required" on the date is then not repeated)."""
        day = context.values.get("last_refill_date")
        if day is None:
            context.problem(
                "last_refill_date", _("Give the date of the last refill with its volume, concentration and dose.")
            )
            context.bad.add("last_refill_date")
        return day

    def _check_new_appointment(self, context: RowContext, patient: Patient, pump: Pump) -> Appointment | None:
        when = context.values.get("next_appointment")
        if when is None:
            return None
        day, at = when  # a new patient has no other appointment to compare with
        if day == self.today and at < self.now.time():
            context.problem("next_appointment", _("This appointment time has already passed."))
        data = {"kind": Appointment.Kind.REFILL, "local_date": day, "local_time": at}
        form = self.new_row_form(AppointmentForm, data, patient=patient, today=self.today)
        if not form.is_valid():
            report_errors(context, form, APPOINTMENT_COLUMNS, "next_appointment")
            return None
        appointment = form.instance
        appointment.patient, appointment.pump = patient, pump  # what AppointmentForm.save() sets
        return appointment

    def write_new_rows(self) -> None:
        """Insert the checked new rows together, through the bulk service that writes what
        the single-row services write (the pump's stored dates from its first fill, its
        first booked refill, the fill's residual check, the appointment's start in UTC),
        with save signals (so the audit trail has every row)."""
        rows, self.new_rows = self.new_rows, []
        if not rows:
            return
        with batched_entries(insert_rows):
            services.create_in_bulk(rows, bulk_save)

    def _save(self, context, entity, form, columns, *, anchor, save=True):
        """Validate ``form``; save it when it creates or changes something. None if invalid."""
        instance = form.instance
        creating = instance.pk is None
        before = snapshot(instance, form._meta.fields)
        if not form.is_valid():
            report_errors(context, form, columns, anchor)
            return None
        if not save:
            return None
        # is_valid() has copied the cleaned values onto the instance: compare them.
        after = snapshot(instance, form._meta.fields)
        changed = [name for name, value in before.items() if after[name] != value]
        if creating or changed:
            save_through_service(entity, form)
        context.outcome.actions[entity] = CREATED if creating else CHANGED if changed else UNCHANGED
        if changed and not creating:
            context.outcome.changed_fields[entity] = changed
        return form.instance


def save_through_service(entity: str, form: BaseForm) -> None:
    """Save a checked form; a pump through the service that stores its dates (the fill and
    appointment forms save through their own services)."""
    if entity == "pump":
        services.edit_pump(form.save(commit=False))
    else:
        form.save()


def form_data(instance, form_class, values: dict, columns: dict, defaults: dict | None = None) -> dict:
    """What a browser would post: the stored values, overlaid with the cells given.

    An empty cell means "not given", so it keeps what is stored (or the default).
    """
    data = model_to_dict(instance, fields=form_class._meta.fields) if instance else dict(defaults or {})
    for field_name, column in columns.items():
        if column in values:
            value = values[column]
            data[field_name] = value.pk if isinstance(value, models.Model) else value
    return data


def snapshot(instance: models.Model, fields) -> dict:
    return {name: instance._meta.get_field(name).value_from_object(instance) for name in fields}


def report_warnings(context: RowContext, form: BaseForm, columns: dict) -> None:
    """What the form accepts but warns about (e.g. reminders without an email address)."""
    for field_name, message in getattr(form, "warnings", {}).items():
        context.outcome.warn(columns.get(field_name), message)


def report_errors(context: RowContext, form: BaseForm, columns: dict, anchor: str, pump: Pump | None = None) -> None:
    """Report each form error against the file's column it came from.

    A fill checked against a stand-in pump whose reservoir is not known (``reservoir_known``
    False) was checked against the largest reservoir: its volume rule says so.
    """
    reservoir_known = getattr(pump, "reservoir_known", True)
    for field_name, errors in form.errors.as_data().items():
        column = columns.get(field_name, anchor)
        known = field_name in columns or field_name == "__all__"
        for error in errors:
            if not reservoir_known and field_name in VOLUME_FIELDS and error.code is None:
                context.problem(column, UNKNOWN_RESERVOIR_VOLUME)  # the form's own range rule
                continue
            for message in error.messages:
                context.problem(column, message if known else f"{field_name}: {message}")
