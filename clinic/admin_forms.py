"""Make the Django admin validate through the same forms as the app and the import."""

from django import forms


class DelegatingAdminForm(forms.ModelForm):
    """An admin form that runs a clinic-scoped validation form over the same data.

    Subclasses set ``validation_form`` and implement ``validation_kwargs(cleaned)``,
    returning None when the scope (clinic, pump, patient) is not yet known.
    """

    validation_form: type[forms.ModelForm]

    def validation_kwargs(self, cleaned) -> dict | None:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        kwargs = self.validation_kwargs(cleaned)
        if kwargs is None:
            return cleaned
        checker = self.validation_form(
            data=self.data, files=self.files, instance=self.instance, prefix=self.prefix, **kwargs
        )
        if not checker.is_valid():
            for field, errors in checker.errors.items():
                for error in errors:
                    self.add_error(field if field in self.fields else None, error)
        else:
            # Keep the values the validation form normalised (defaults from the model, etc.).
            for field in self.fields:
                if field in checker.cleaned_data:
                    cleaned[field] = checker.cleaned_data[field]
        return cleaned
