"""includes/error_summary.html and its form_problems tag: what a refused form shows at the top."""

from django import forms
from django.template import Context, Template

SUMMARY = Template('{% include "includes/error_summary.html" %}')


class VolumesForm(forms.Form):
    removed = forms.DecimalField(label="Volume removed (mL)")
    added = forms.DecimalField(label="Volume added (mL)", required=False)
    token = forms.CharField(widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("added") == 0:
            raise forms.ValidationError("Nothing was added.")
        return cleaned


def render(form, also=None) -> str:
    return SUMMARY.render(Context({"form": form, "also_form": also}))


def test_an_unbound_or_valid_form_shows_no_summary():
    assert render(VolumesForm()).strip() == ""
    valid = VolumesForm({"removed": "1.5", "added": "20", "token": "x"})
    assert valid.is_valid() and render(valid).strip() == ""


def test_each_problem_is_counted_and_linked_to_its_field():
    form = VolumesForm({"removed": "", "added": "0", "token": ""})
    html = render(form)
    assert 'tabindex="-1" autofocus' in html and 'role="alert"' in html
    assert "Nothing was saved: 3 problems to fix" in html
    # A problem of the whole form and one of a hidden field: said, without a link.
    assert "<li>Nothing was added.</li>" in html
    assert "<li>This field is required.</li>" in html
    assert '<a href="#id_removed">Volume removed (mL): This field is required.</a>' in html
    assert html.count("<a ") == 1


def test_two_forms_of_one_page_in_one_summary_with_their_prefixes():
    first = VolumesForm({"a-removed": "x", "a-token": "t"}, prefix="a")
    second = VolumesForm({"b-removed": "", "b-token": "t"}, prefix="b")
    html = render(first, second)
    assert "Nothing was saved: 2 problems to fix" in html
    assert '<a href="#id_a-removed">' in html and '<a href="#id_b-removed">' in html


def test_one_problem_is_singular():
    assert "Nothing was saved: 1 problem to fix" in render(VolumesForm({"removed": "", "token": "t"}))
