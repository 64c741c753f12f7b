"""Template helpers for the worklist's parts of other pages (Today's action list)."""

from django import template

register = template.Library()


@register.inclusion_tag("worklist/_owner_cell.html")
def worklist_cell(worklist, danger_item):
    """Owner and last contact of a Today action item (``worklist`` from worklist.today.for_today)."""
    return {"row": worklist.row_for(danger_item) if worklist else None}
