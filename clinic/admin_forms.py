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


class ServiceAdminMixin:
    """A ModelAdmin that writes through the domain's service functions (STYLE convention 11).

    ``save_service(obj)`` saves a new or changed object with the derived state it feeds;
    ``delete_service(obj)`` deletes one. The admin's bulk delete action deletes one by one
    through ``delete_service``, so nothing bypasses them.
    """

    save_service = None
    delete_service = None

    def save_model(self, request, obj, form, change):
        if self.save_service is None:
            return super().save_model(request, obj, form, change)
        type(self).save_service(obj)

    def delete_model(self, request, obj):
        if self.delete_service is None:
            return super().delete_model(request, obj)
        type(self).delete_service(obj)

    def delete_queryset(self, request, queryset):
        if self.delete_service is None:
            return super().delete_queryset(request, queryset)
        for obj in queryset:
            type(self).delete_service(obj)
