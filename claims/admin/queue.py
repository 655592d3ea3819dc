"""The console's escalated queue (the claims with the platform, the most urgent first) and assigning claims, one
or many, each through services.assign."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.console import ConsoleMixinBase, buyer_label, person_label

from .. import services
from ..admin_forms import BulkAssignForm
from ..models import Claim
from ..selectors import platform_queue_page, platform_queues
from .display import deadline_html


class QueueMixin(ConsoleMixinBase):
    """For ClaimAdmin: the escalated queue page, bulk assignment and the list's "assign to me" action."""

    @admin.action(description=gettext_lazy("Assign the selected claims to me"), permissions=["console"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._assign_many(request, list(queryset.values_list("pk", flat=True)), request.user)

    def _assign_many(self, request: HttpRequest, claim_ids: list[int], agent: Any) -> None:
        """Each claim through services.assign (its own lock and check), each logged; one message for the batch."""
        done = 0
        for claim in Claim.objects.filter(pk__in=claim_ids).order_by("pk"):
            outcome = self.run_service(request, claim, functools.partial(self._assign_one, claim, request.user, agent))
            done += outcome.done
        if done:
            self.message_user(
                request,
                ngettext("%(count)d claim assigned.", "%(count)d claims assigned.", done) % {"count": done},
                messages.SUCCESS,
            )

    @staticmethod
    def _assign_one(claim: Claim, by: Any, agent: Any) -> str:
        services.assign(claim=claim, by=by, agent=agent)
        return _("Assigned to %(agent)s.") % {"agent": person_label(agent)} if agent else _("Unassigned.")

    QUEUE_VIEWS = {
        "me": gettext_lazy("Assigned to me"),
        "unassigned": gettext_lazy("Unassigned"),
        "all": gettext_lazy("All"),
    }

    def queue_view(self, request: HttpRequest) -> HttpResponse:
        """The claims with the platform (escalated, awaiting information), the most urgent first."""
        if not self.has_console_permission(request):
            raise PermissionDenied
        who = request.GET.get("who", "me")
        who = who if who in self.QUEUE_VIEWS else "me"
        scoped = platform_queues(request.user)
        page = Paginator(platform_queue_page(scoped[who]), 50).get_page(request.GET.get("page"))
        now = timezone.now()
        rows = [
            {
                "claim": c,
                "buyer": buyer_label(c.buyer),
                "deadline": deadline_html(c.action_due_at, now),
                "assignee": person_label(c.assigned_to) if c.assigned_to_id else "",
            }
            for c in page.object_list
        ]
        tabs = [
            {
                "key": key,
                "label": label,
                "count": scoped[key].count(),
                "url": "?" + urlencode({"who": key}),
                "current": key == who,
            }
            for key, label in self.QUEUE_VIEWS.items()
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Escalated queue"),
            "opts": self.opts,
            "tabs": tabs,
            "who": who,
            "rows": rows,
            "page": page,
            "form": BulkAssignForm(user=request.user, initial={"agent": request.user.pk}),
            "assign_url": reverse("admin:claims_claim_bulk_assign"),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/claims/claim/queue.html", context)

    def bulk_assign_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_console_permission(request):
            raise PermissionDenied
        form = BulkAssignForm(request.POST, user=request.user)
        back = reverse("admin:claims_claim_queue") + "?" + urlencode({"who": request.POST.get("who", "me")})
        if not form.is_valid():
            for errors in form.errors.values():
                for text in errors:
                    self.message_user(request, str(text), messages.ERROR)
            return HttpResponseRedirect(back)
        self._assign_many(request, [c.pk for c in form.cleaned_data["claims"]], form.cleaned_data["agent"])
        return HttpResponseRedirect(back)
