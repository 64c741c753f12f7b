"""The refill plan page: the weeks ahead as a chart and a table, crunch weeks marked, and the
booked refills that fall in their member's absence. Same numbers as ``refill_plan``
(scheduling.plan.plan_weeks computes both), in the same few queries whatever the caseload size.
"""

from datetime import timedelta

from django.contrib import messages
from django.views.generic import TemplateView

from clinic.access import ClinicAccessMixin, Role
from scheduling.plan import DEFAULT_WEEKS, PAGE_WEEK_CHOICES, absence_conflicts, monday_of, plan_weeks
from scheduling.plan_chart import plan_chart

CONFLICT_LIMIT = 100


class PlanView(ClinicAccessMixin, TemplateView):
    """Staff, managers and admins: the plan of the clinic they work in."""

    template_name = "scheduling/plan.html"
    role = Role.STAFF

    def chosen_weeks(self) -> int:
        text = self.request.GET.get("weeks", "")
        if text == "":
            return DEFAULT_WEEKS
        if text.isdigit() and int(text) in PAGE_WEEK_CHOICES:
            return int(text)
        choices = ", ".join(str(n) for n in PAGE_WEEK_CHOICES)
        messages.error(self.request, f"Weeks: choose one of {choices}. Showing {DEFAULT_WEEKS} weeks.")
        return DEFAULT_WEEKS

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        count = self.chosen_weeks()
        weeks = plan_weeks(self.clinic, self.today, count, cached=True)
        end = monday_of(self.today) + timedelta(weeks=count)
        conflicts = absence_conflicts(self.clinic, self.today, end, limit=CONFLICT_LIMIT + 1)
        context.update(
            weeks=weeks,
            week_count=count,
            week_choices=PAGE_WEEK_CHOICES,
            plan_end=end - timedelta(days=1),
            chart=plan_chart(weeks),
            crunch_count=sum(1 for week in weeks if week.crunch),
            totals={
                "due": sum(w.due for w in weeks),
                "booked": sum(w.booked for w in weeks),
                "capacity": sum(w.capacity for w in weeks),
                "due_unbooked": sum(w.due_unbooked for w in weeks),
            },
            has_capacity=any(w.capacity for w in weeks),
            conflicts=conflicts[:CONFLICT_LIMIT],
            conflicts_more=len(conflicts) > CONFLICT_LIMIT,
            conflict_limit=CONFLICT_LIMIT,
        )
        return context
