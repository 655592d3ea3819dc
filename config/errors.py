"""The error pages (config.urls' handler400/403/404/500, CSRF_FAILURE_VIEW): in the site's design and the reader's
language, with ways back (the previous page, the reader's start page) and the request's reference to quote to support
(core.request_id); under the console, for its staff, in the console's design. The 429 page (core.ratelimit.too_many)
shares the site's template.

The API's errors stay problem details: api.problems.ProblemMiddleware turns these answers under /api/v1/ into them.

The 500 page is drawn as Django's own server_error draws it: from a plain context, without context processors, the
session or the database, which may be what failed. Its language comes from the request alone (cookie, then
Accept-Language) and the console's design only when the user was already read by the request that failed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.utils import translation
from django.utils.functional import empty
from django.utils.translation import gettext_lazy as _

from claims import start
from core import request_id

PAGES: dict[int | str, tuple[Any, Any]] = {
    400: (_("The request could not be understood"),
          _("Your browser sent something this site cannot read. Go back, reload the page and try again.")),
    403: (_("You cannot open this page"),
          _("Your account does not give you access to this page. If you think it should, contact support and give "
            "them the reference below.")),
    "csrf": (_("The form could not be sent"),
             _("For your security the form was refused: it was open for too long, or your browser blocks cookies "
               "for this site. Go back, reload the page and send the form again.")),
    404: (_("Page not found"),
          _("There is nothing at this address. The link may be old or mistyped.")),
    500: (_("Something went wrong on our side"),
          _("The page could not be shown because of an error on our side. It was recorded; please try again in a "
            "few minutes.")),
}


def _in_console(request: HttpRequest, user: Any) -> bool:
    """The console's own design: its address, and a member of staff who passed the console's second factor."""
    if user is None or not (user.is_active and user.is_staff) or not request.path.startswith(reverse("admin:index")):
        return False
    verified = getattr(user, "is_verified", None)
    return verified is None or verified()


def _page(request: HttpRequest, status: int, page: int | str, detail: str = "") -> HttpResponse:
    title, explanation = PAGES[page]
    context = {"title": title, "explanation": explanation, "detail": detail, "status": status}
    request_id.of(request)
    if _in_console(request, getattr(request, "user", None)):
        return render(request, "admin/error_page.html",
                      {**admin.site.each_context(request), **context, "start_page": start.CONSOLE}, status=status)
    return render(request, "error_page.html", context, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _page(request, 400, 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """With the refusal's own sentence when the view gave one ("Only the shop's owner manages its API keys"): the
    views write those for people, in their language."""
    return _page(request, 403, 403, detail=str(exception) if exception.args else "")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form refused for its missing or stale token (the reason is for logs, never for people)."""
    return _page(request, 403, "csrf")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _page(request, 404, 404)


def _user_already_read(request: HttpRequest) -> Any:
    """The request's user if the request read it before failing, else None: reading it now could need the database."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user


def server_error(request: HttpRequest) -> HttpResponse:
    title, explanation = PAGES[500]
    console = _in_console(request, _user_already_read(request))
    context = {"title": title, "explanation": explanation, "status": 500, "request": request,
               "marketplace_name": settings.MARKETPLACE_NAME, "start_page": start.CONSOLE if console else start.HOME}
    if console:
        context |= {"site_header": admin.site.site_header, "site_title": admin.site.site_title}
    request_id.of(request)
    with translation.override(translation.get_language_from_request(request)):
        body = loader.get_template("admin/error_page.html" if console else "500.html").render(context)
    return HttpResponseServerError(body)
