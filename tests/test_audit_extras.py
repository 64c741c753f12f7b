"""Audit trail cells read as words."""

from django.template import Context, Template


def render(changes: dict) -> str:
    template = Template(
        "{% load audit_extras %}{% for f, c in changes.items %}{{ f|audit_field }}: {{ c.0|audit_value }} → {{ c.1|audit_value }};{% endfor %}"
    )
    return template.render(Context({"changes": changes}))


def test_missing_values_show_as_a_dash_and_fields_as_words():
    assert render({"eri_date": ["None", "2030-01-01"], "phone": ["0100", ""]}) == (
        "eri date: — → 2030-01-01;phone: 0100 → —;"
    )
