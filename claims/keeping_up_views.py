"""Keeping up (claims.keeping_up): a person's notifications, their email preferences, and the buyer's claims in one
list. Everything is the logged-in person's own: there is nothing of anyone else to ask for; only an email's signed
unsubscribe link works without logging in."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.http import AuthenticatedHttpRequest
from core.signed_links import SignedLinkError

from . import keeping_up, services
from . import unsubscribe as unsubscribing
from .errors import ClaimError
from .forms import EmailPreferencesForm


@login_required
@require_GET
def notifications(request: AuthenticatedHttpRequest) -> HttpResponse:
    """What happened on the person's claims, newest first; opening a claim (or "Mark all as read") reads them."""
    page = Paginator(keeping_up.notifications_of(request.user), keeping_up.NOTIFICATIONS_PER_PAGE).get_page(
        request.GET.get("page"))
    rows = [(notification, keeping_up.claim_link(notification, request.user)) for notification in page.object_list]
    return render(request, "claims/notifications.html", {"page": page, "rows": rows})


@login_required
@require_POST
def mark_all_read(request: AuthenticatedHttpRequest) -> HttpResponse:
    count = services.mark_all_read(user=request.user)
    messages.success(request, ngettext("%(count)d notification marked as read.",
                                       "%(count)d notifications marked as read.", count) % {"count": count}
                     if count else _("There was nothing unread."))
    return redirect("claims:notifications")


@login_required
@require_http_methods(["GET", "POST"])
def email_preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
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


@csrf_exempt  # RFC 8058: a mail program POSTs "List-Unsubscribe=One-Click" with no cookie; the signed link is the key
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """An email's one-click unsubscribe (claims.unsubscribe), without logging in. Opening the link (GET) asks with a
    button and changes nothing, so a mail scanner that follows links turns nothing off; a POST (the button, or the
    mail program's one-click) turns that kind of email off for the link's person. A changed or expired link, or one
    for a kind that cannot be turned off, gets 400; one whose person is gone 404; each a page that says so, and
    nothing changes."""
    try:
        link = unsubscribing.read_token(token)
    except SignedLinkError as refused:
        return render(request, "claims/unsubscribe.html", {"refused": refused.code},
                      status=404 if refused.code == "foreign" else 400)
    done = False
    if request.method == "POST":
        services.set_email_preferences(user=link.user, enabled={link.kind: False})
        done = True
    return render(request, "claims/unsubscribe.html", {
        "kind": link.kind_label, "done": done, "already_off": not keeping_up.email_settings(link.user)[link.kind],
    })


@login_required
@require_GET
def my_claims(request: AuthenticatedHttpRequest) -> HttpResponse:
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
