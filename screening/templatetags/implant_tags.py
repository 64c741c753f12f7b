"""``{% implant_panel candidate %}``: the implant section of the candidate page (issue 16 item 4)."""

from django import template

from screening import implant

register = template.Library()


@register.inclusion_tag("screening/implant_panel.html", takes_context=True)
def implant_panel(context, candidate):
    return {"candidate": candidate, "panel": implant.panel(candidate), "can_manage": context.get("can_manage", False)}
