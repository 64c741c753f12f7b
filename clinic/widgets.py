"""Form widgets of the project's own (rendered through FORM_RENDERER = TemplatesSetting).

``OptionsSelect`` is Django's ``Select`` with its options written in place: Django's
select.html includes two templates per option (select_option.html and attrs.html), which
on a list page's filters and a clinic's member selects is most of the form's rendering
time (bench/lists_timing.py). Its template (templates/widgets/select_options_in_place.html)
writes the same HTML (tests/test_select_widget.py compares it with Django's own template);
an option with a template of its own still goes through that template. Django's own select
template is untouched: only the fields that declare this widget use it (the member selects
through ``clinic.fields.MemberChoiceField``, and the list filters in dashboard/filters.py).
"""

from django import forms


class OptionsSelect(forms.Select):
    template_name = "widgets/select_options_in_place.html"
