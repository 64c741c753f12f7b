"""``{% titration_section pump %}``: the titration section of the patient page (issue 16 item 5).

The patient page includes it with one line; the section reads the pump's reviews (one
query) and takes its fill events from the page's timeline (else reads them: two more).
"""

from django import template

from screening import titration

register = template.Library()


@register.inclusion_tag("screening/titration_section.html", takes_context=True)
def titration_section(context, pump):
    today = context["today"]
    refills = changes = None
    timeline = context.get("timeline")
    if timeline is not None:
        # The patient page's timeline holds every fill event of the patient, already read.
        refills = [e.obj for e in timeline if e.kind == "refill" and e.obj.pump_id == pump.pk]
        changes = [e.obj for e in timeline if e.kind == "program_change" and e.obj.pump_id == pump.pk]
    return {
        **titration.titration(pump, today, refills, changes),
        "pump": pump,
        "today": today,
        "can_manage": context.get("can_manage", False),
    }
