"""Keeping up (claims.keeping_up): a person's notifications, their email preferences, and the buyer's claims in one
list. Everything is the logged-in person's own: there is nothing of anyone else to ask for."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import keeping_up, services
from .errors import ClaimError
from .forms import EmailPreferencesForm


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    """What happened on the person's claims, newest first; opening a claim (or "Mark all as read") reads them."""
    page = Paginator(keeping_up.notifications_of(request.user), keeping_up.NOTIFICATIONS_PER_PAGE).get_page(
        request.GET.get("page"))
    rows = [(notification, keeping_up.claim_link(notification, request.user)) for notification in page.object_list]
    return render(request, "claims/notifications.html", {"page": page, "rows": rows})


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.mark_all_read(user=request.user)
    messages.success(request, ngettext("%(count)d notification marked as read.",
                                       "%(count)d notifications marked as read.", count) % {"count": count}
                     if count else _("There was nothing unread."))
    return redirect("claims:notifications")


@login_required
@require_http_methods(["GET", "POST"])
def email_preferences(request: HttpRequest) -> HttpResponse:
    form = EmailPreferencesForm(request.POST or None, kinds=keeping_up.KINDS,
                                enabled=keeping_up.email_settings(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            services.set_email_preferences(user=request.user, enabled=form.chosen())
        except ClaimError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your email preferences were saved."))
            return redirect("claims:email_preferences")
    return render(request, "claims/email_preferences.html", {
        "form": form, "always_reason": keeping_up.ALWAYS_REASON,
    }, status=400 if form.errors else 200)


@login_required
@require_GET
def my_claims(request: HttpRequest) -> HttpResponse:
    """The buyer's claims ("My requests"): the latest activity first, with what happens next on each."""
    filters = dict(keeping_up.MY_CLAIMS_FILTERS)
    show = request.GET.get("show", "")
    show = show if show in filters else ""
    page = Paginator(keeping_up.buyer_claims(request.user, show=show), keeping_up.MY_CLAIMS_PER_PAGE).get_page(
        request.GET.get("page"))
    now = timezone.now()
    return render(request, "claims/my_claims.html", {
        "page": page, "rows": [(claim, keeping_up.next_step(claim, now)) for claim in page.object_list],
        "filters": keeping_up.MY_CLAIMS_FILTERS, "show": show, "query": f"show={show}" if show else "",
    })
