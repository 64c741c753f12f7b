"""Form fields shared by the clinic's forms."""

from django import forms

from clinic.display import member_name
from clinic.widgets import OptionsSelect


class MemberChoiceField(forms.ModelChoiceField):
    """A choice among members, shown by full name (the username when no name is recorded)."""

    widget = OptionsSelect  # a clinic's members are the longest selects (clinic/widgets.py)

    def label_from_instance(self, obj) -> str:
        return member_name(obj)
