"""Privacy pages (issue 18, GDPR): the public privacy notice (/privacy/), and each person's own privacy page with the
download of their data (accounts.export) and their request to be forgotten (accounts.erasure). Everything here is the
logged-in person's own: there is no other person's id in any URL."""

from __future__ import annotations

from email.utils import parseaddr

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import audit, ratelimit
from core.formatting import day
from core.http import AuthenticatedHttpRequest
from core.models import AuditKind

from . import erasure, export
from .models import ErasureState

# A download reads every file the person uploaded: a few an hour are plenty, and a loop of them costs the server.
EXPORTS_PER_HOUR = 5
EXPORT_WINDOW_SECONDS = 3600


@require_GET
def privacy_notice(request: HttpRequest) -> HttpResponse:
    """What the marketplace keeps, why and for how long: public, no login. The periods come from the settings the
    code uses, never typed into the text."""
    return render(request, "privacy.html", {
        "evidence_months": settings.EVIDENCE_RETENTION_MONTHS,
        "login_failure_hours": settings.LOGIN_FAILURE_MEMORY_HOURS,
        "answer_months": erasure.ANSWER_WITHIN.months,
        "idempotency_hours": settings.API_IDEMPOTENCY_HOURS,
        "contact_email": parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
    })


@login_required
@require_GET
def privacy(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The person's own privacy page: download their data, ask for erasure, and where a request stands."""
    user = request.user
    latest = erasure.latest_request(user)
    pending = latest if latest is not None and latest.state == ErasureState.PENDING else None
    return render(request, "accounts/privacy.html", {
        "latest": latest,
        "pending": pending,
        "due": erasure.answer_due(pending) if pending else None,
        "staff_account": erasure.works_for_the_platform_or_a_seller(user),
        "blockers": erasure.blockers(user) if not erasure.works_for_the_platform_or_a_seller(user) else [],
        "evidence_months": settings.EVIDENCE_RETENTION_MONTHS,
        "answer_months": erasure.ANSWER_WITHIN.months,
    })


@login_required
@require_POST
def export_data(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """The ZIP of the person's data, as a download; the audit log records that it was made (not what it held)."""
    if not ratelimit.hit("data-export", str(request.user.pk), limit=EXPORTS_PER_HOUR,
                         window_seconds=EXPORT_WINDOW_SECONDS):
        return ratelimit.too_many(request, _("You downloaded your data several times in the last hour. Please wait "
                                             "a while before downloading it again."))
    archive = export.build(request.user)
    audit.record(AuditKind.DATA_EXPORT, actor=request.user, request=request, files=archive.files,
                 bytes=archive.size)
    response = FileResponse(archive.file, as_attachment=True, filename=archive.filename,
                            content_type="application/zip")
    response["Content-Length"] = str(archive.size)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def erasure_request(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The person asks to be forgotten; the support team processes it (accounts.admin_privacy)."""
    try:
        created = erasure.request_erasure(user=request.user, request=request)
    except erasure.ErasureError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("We received your request. Our support team will erase your personal data by "
                                    "%(due)s, or tell you why it cannot be done yet. After the erasure you can no "
                                    "longer log in, and we send you no more emails.")
                         % {"due": day(erasure.answer_due(created))})
    return redirect("accounts:privacy")
