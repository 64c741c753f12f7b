"""Template helpers for the worklist's parts of Today (worklist.today.for_today gives the data)."""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def worklist_head():
    """The worklist's stylesheet, for a page that shows worklist parts."""
    return format_html('<link rel="stylesheet" href="{}">', static("css/worklist.css"))


@register.inclusion_tag("worklist/_today.html", takes_context=True)
def worklist_today(context, worklist):
    """Escalated items (the top of Today) and the standing check with its link."""
    return {"worklist": worklist, "clinic": context.get("clinic")}


@register.inclusion_tag("worklist/_owner_cell.html")
def worklist_cell(worklist, danger_item):
    """Owner and last contact of a Today action item (a refills.dangers.DangerItem)."""
    return {"row": worklist.row_for(danger_item) if worklist else None}
