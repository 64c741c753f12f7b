"""Form fields shared by the clinic's forms."""

from django import forms

from clinic.display import member_name


class MemberChoiceField(forms.ModelChoiceField):
    """A choice among members, shown by full name (the username when no name is recorded)."""

    def label_from_instance(self, obj) -> str:
        return member_name(obj)
