"""The worklist pages: the list (open / claimed / excepted), an item with its history, the
standing check's list, and the one-click POST actions (claim, release, contact, exception).

Everything through clinic.access.ClinicAccessMixin: another clinic's item is a 404; staff may
claim, record contacts and exceptions (SPEC 6: "book, reschedule" is staff's too).
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from clinic.access import ClinicAccessMixin
from refills.models import Appointment
from worklist import display, services
from worklist.forms import ContactForm, ExceptionForm
from worklist.models import Item
from worklist.queries import TABS, cached_tab_counts, live_items, tab_q, worklist_order
from worklist.standing import standing_check_pumps

PER_PAGE = 50


def rows_for(items, zone):
    """The values each row shows, computed once per row (no query: all selected with the item)."""
    return [
        {
            "item": item,
            "need": display.need_badge(item),
            "owner": display.owner_text(item, zone),
            "last_contact": display.last_contact_text(item, zone),
            "due": display.due_text(item),
            "escalated": display.escalated_text(item, zone),
            "book_url": display.book_url(item),
            "book_label": display.book_label(item),
        }
        for item in items
    ]


class WorklistView(ClinicAccessMixin, TemplateView):
    """Items that need action now: open first tab, escalated and most urgent first."""

    template_name = "worklist/list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        tab = self.request.GET.get("tab", "open")
        if tab not in TABS:
            tab = "open"
        items = live_items(self.clinic, self.today)
        counts = cached_tab_counts(self.clinic, self.today, self.request.user)
        chosen = worklist_order(items.filter(tab_q(tab, self.request.user, self.today)))
        paginator = Paginator(chosen, PER_PAGE)
        paginator.count = counts[tab]  # already counted with the tabs: no second COUNT
        page = paginator.get_page(self.request.GET.get("page"))
        rows = rows_for(page.object_list, self.clinic.zone)
        context.update(
            tab=tab,
            tabs=[(key, label, counts[key]) for key, label in TABS.items()],
            rows=rows,
            listed=bool(rows),
            page_obj=page,
            is_paginated=page.has_other_pages(),
        )
        return context


class ItemMixin(ClinicAccessMixin):
    def load_objects(self):
        self.item = self.get_scoped(
            Item.objects.select_related("pump__patient", "pump__model", "claimed_by", "excepted_by", "refill"),
            pk=self.kwargs["pk"],
        )

    def item_url(self) -> str:
        return reverse("worklist_item", args=[self.item.pk])

    def back(self):
        """Back where the button was pressed (the list keeps its tab), else the item's page."""
        wanted = self.request.POST.get("next", "")
        if wanted and url_has_allowed_host_and_scheme(wanted, {self.request.get_host()}, self.request.is_secure()):
            return redirect(wanted)
        return redirect(self.item_url())


class ItemView(ItemMixin, TemplateView):
    """One item: what it is about, who owns it, its contacts and history, and the forms."""

    template_name = "worklist/item.html"
    contact_form = None
    exception_form = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        live = live_items(self.clinic, self.today).filter(pk=self.item.pk).first()
        zone = self.clinic.zone
        item = live or self.item
        context.update(
            item=item,
            live=live is not None,
            row=rows_for([live], zone)[0] if live else None,
            owner=display.owner_text(item, zone) if live else "",
            escalated=display.escalated_text(item, zone),
            contacts=[
                (contact, display.moment(contact.contacted_at, zone))
                for contact in self.item.contacts.select_related("recorded_by")
            ],
            # In the order they were recorded (a contact's own time may be earlier than its recording).
            events=[
                (event, display.moment(event.at, zone))
                for event in self.item.events.select_related("by").order_by("pk")
            ],
            contact_form=self.contact_form or ContactForm(clinic=self.clinic),
            exception_form=self.exception_form or ExceptionForm(today=self.today, danger=pump_danger(item, self.today)),
            booked_refill=Appointment.objects.filter(
                pump=item.pump_id,
                kind=Appointment.Kind.REFILL,
                status=Appointment.Status.SCHEDULED,
                local_date__gte=self.today,
            )
            .order_by("local_date", "local_time")
            .first(),
            may_end_exception=item.state == Item.State.EXCEPTED
            and (item.excepted_until is None or item.excepted_until >= self.today),
            may_release=live is not None
            and live.state_now == Item.State.CLAIMED
            and (live.claimed_by_id == self.request.user.pk or self.can_manage),
        )
        return context


class ClaimView(ItemMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        outcome = services.claim(self.item, request.user, self.today)
        (messages.success if outcome.ok else messages.warning)(request, outcome.message)
        return self.back()


class ReleaseView(ItemMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        outcome = services.release(self.item, request.user, may_release_others=self.can_manage)
        (messages.success if outcome.ok else messages.warning)(request, outcome.message)
        return self.back()


class ContactView(ItemMixin, View):
    """POST a contact attempt; invalid input shows the item page again with the field's message."""

    http_method_names = ["post"]

    def post(self, request, pk):
        form = ContactForm(request.POST, clinic=self.clinic)
        if not form.is_valid():
            return invalid(self, request, contact_form=form)
        data = form.cleaned_data
        services.record_contact(
            self.item,
            request.user,
            method=data["method"],
            with_whom=data["with_whom"],
            contacted_at=data["contacted_at"],
            note=data["note"],
        )
        messages.success(request, "Contact attempt recorded.")
        return redirect(self.item_url())


class ExceptionView(ItemMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        form = ExceptionForm(request.POST, today=self.today, danger=pump_danger(self.item, self.today))
        if not form.is_valid():
            return invalid(self, request, exception_form=form)
        data = form.cleaned_data
        outcome = services.record_exception(
            self.item, request.user, reason=data["reason"], note=data["note"], until=data["until"], today=self.today
        )
        (messages.success if outcome.ok else messages.warning)(request, outcome.message)
        return redirect(self.item_url())


class EndExceptionView(ItemMixin, View):
    """POST: end an exception early; the item opens again (audited)."""

    http_method_names = ["post"]

    def post(self, request, pk):
        outcome = services.end_exception(self.item, request.user, self.today)
        (messages.success if outcome.ok else messages.warning)(request, outcome.message)
        return redirect(self.item_url())


def pump_danger(item, today) -> str:
    """ "empty" or "alarming" when the item's pump is (its stored dates), else ""."""
    pump = item.pump
    if pump.empty_date and pump.empty_date <= today:
        return "empty"
    if pump.alarm_date and pump.alarm_date <= today:
        return "alarming"
    return ""


def invalid(view, request, **forms):
    """The item page again with the bound form's errors (nothing saved)."""
    page = ItemView(request=request, kwargs=view.kwargs, args=(), **forms)
    page.membership, page.clinic, page.today, page.item = view.membership, view.clinic, view.today, view.item
    return page.render_to_response(page.get_context_data())


class StandingCheckView(ClinicAccessMixin, TemplateView):
    """SPEC 9's standing check: pumps due within due_soon_days (or past due) with neither a refill
    booked on or before refill due nor an exception. The goal is an empty list."""

    template_name = "worklist/unbooked.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        pumps = standing_check_pumps(self.clinic, self.today)
        paginator = Paginator(pumps, PER_PAGE)
        page = paginator.get_page(self.request.GET.get("page"))
        pumps = list(page.object_list)
        context.update(page_obj=page, pumps=pumps, listed=bool(pumps), is_paginated=page.has_other_pages())
        return context
