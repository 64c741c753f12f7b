"""The app's forms, as the caseload import uses them: validated, never rendered."""

from django.core.exceptions import ValidationError
from django.forms import FileField


class Unrendered:
    """Mixed into a form class (``unrendered(PatientForm)``) for a form that is only validated.

    The same fields, ``clean_<field>`` methods, ``clean`` and model validation, in Django's
    order; only the per-field ``BoundField`` objects a page needs to render a field are not
    made (Django's ``_clean_fields`` makes one per field to read its value), and the model
    fields left out of validation are worked out once per set of errors rather than twice.
    Together they were about a quarter of checking a row of the import (issue 13).
    """

    def _clean_fields(self):
        for name, field in self.fields.items():
            try:
                if field.disabled or isinstance(field, FileField):
                    self.cleaned_data[name] = field._clean_bound_field(self[name])
                else:
                    value = self._widget_data_value(field.widget, self.add_prefix(name))
                    self.cleaned_data[name] = field.clean(value)
                if hasattr(self, f"clean_{name}"):
                    self.cleaned_data[name] = getattr(self, f"clean_{name}")()
            except ValidationError as error:
                self.add_error(name, error)

    def __getitem__(self, name):
        # Django keeps each bound field it makes on the form, and the bound field refers back
        # to the form: a reference cycle, so every checked form (with its instance, data and
        # errors) waited for the cyclic garbage collector instead of being freed at once. The
        # bound fields asked for here (by construct_instance, for a field with a default) are
        # read once and never rendered: made anew each time, not kept.
        field = self.fields.get(name)
        if field is None:
            return super().__getitem__(name)  # Django's KeyError, naming the form's fields
        return field.get_bound_field(self, name)

    def _get_validation_exclusions(self):
        # Called by _post_clean and again by validate_unique; the answer changes only with
        # the fields in error (and the cleaned values, which do not change in between).
        key = frozenset(self._errors)
        cached = getattr(self, "_exclusions", None)
        if cached is None or cached[0] != key:
            cached = self._exclusions = (key, frozenset(super()._get_validation_exclusions()))
        return set(cached[1])


_classes: dict[type, type] = {}


def unrendered(form_class: type) -> type:
    """``form_class`` with ``Unrendered`` mixed in (one class per form class)."""
    if form_class not in _classes:
        _classes[form_class] = type(form_class.__name__, (Unrendered, form_class), {"__module__": __name__})
    return _classes[form_class]
