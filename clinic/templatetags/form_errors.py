"""The problems of a refused form, listed for the error summary at the top of a page.

templates/includes/error_summary.html renders them: one line per message, each linked to
its field (``#id_...``), so a long form shows at once what stopped the save and where.
"""

from dataclasses import dataclass

from django import template

register = template.Library()


@dataclass(frozen=True)
class Problem:
    label: str  # the field's label, empty for a problem of the whole form
    message: str
    anchor: str  # the id of the input to jump to, empty when there is none


@register.simple_tag
def form_problems(*forms) -> list[Problem]:
    """Every error message of the given bound forms in field order (non-field errors first).

    Empty or missing forms are skipped, so an include can pass an optional second form.
    """
    problems = []
    for form in forms:
        if not form or not getattr(form, "is_bound", False) or not form.errors:
            continue
        problems.extend(Problem("", str(message), "") for message in form.non_field_errors())
        for field in form:
            for message in field.errors:
                if field.is_hidden:
                    problems.append(Problem("", str(message), ""))
                else:
                    problems.append(Problem(str(field.label), str(message), field.id_for_label or ""))
    return problems
