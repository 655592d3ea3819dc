"""Every login path guarded (issue 18): failed logins counted by django-axes per (normalized username, client address)
with a growing delay, a ceiling on failures per address, and limits on password reset emails (settings: LOGIN_*,
PASSWORD_RESET_*, AXES_*).

The delay rule, in one place (`delay_seconds`): after LOGIN_FAILURE_LIMIT failures of a pair it waits
LOGIN_LOCKOUT_BASE_SECONDS from its last failure; once that has passed, one more try is allowed, and its failure
doubles the wait, up to LOGIN_LOCKOUT_MAX_SECONDS. Axes asks `failure_limit`, the 429 page says `wait_seconds`, the
console's lockout list asks `pair_state` and `locked_q`: all from `delay_seconds`.

A stranger failing from their own address adds to their own pair only, so a user is never kept out of their own
address; a successful login clears its pair (AXES_RESET_ON_SUCCESS) and is never counted. Failed logins from one
address across any usernames (guessing across many accounts) are counted too: at LOGIN_ADDRESS_FAILURE_LIMIT within
LOGIN_RATE_WINDOW_SECONDS that address is refused before any password is checked (`AddressCeilingBackend`), on the
site's login and the console's alike, as both log in through django.contrib.auth.authenticate()."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import operator
from collections.abc import Callable
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import audit, ratelimit
from core.usernames import normalize_username

# The username under which a wrong or revoked API key counts (api.auth): with a space, so that it is no account's
# username (django.contrib.auth's validator refuses spaces) and no account's login ever clears its counter.
API_KEY_USERNAME = "api key"

USERNAME_KEY_LENGTH = AccessAttempt._meta.get_field("username").max_length or 255
ADDRESS_SCOPE = "login-failures-address"
RESET_ADDRESS_SCOPE = "password-reset-address"
RESET_EMAIL_SCOPE = "password-reset-email"


def username_of(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The username axes counts under: the one spelling the login itself uses (accounts.backends), cut to what axes'
    column holds. Normalizing can lengthen a name ("ﷺ" is 18 characters in NFKC) past it; no account's name is that
    long (150 at most), so the cut never makes a tried name into an account's."""
    username = (credentials or {}).get("username")
    if username is None:
        username = request.POST.get("username") if request is not None and request.method == "POST" else None
    return None if username is None else normalize_username(username)[:USERNAME_KEY_LENGTH]


def login_path(request: HttpRequest | None) -> str:
    """Which door a login came through, for the audit log: "admin" (the console), "api" (a key) or "site"."""
    path = getattr(request, "path", "") or ""
    if path.startswith(reverse("admin:index")):
        return "admin"
    if path.startswith("/api/"):
        return "api"
    return "site"


def account_named(username: str | None) -> Any:
    """The account with this (normalized) username, or None."""
    if not username:
        return None
    return get_user_model()._default_manager.filter(username=normalize_username(username)).first()


# --- the delay rule -------------------------------------------------------------------------------------------------


def delay_seconds(failures: int) -> int:
    """How long a pair with `failures` failures waits after its last one: nothing below LOGIN_FAILURE_LIMIT, then
    LOGIN_LOCKOUT_BASE_SECONDS × 2^(failures − LOGIN_FAILURE_LIMIT), at most LOGIN_LOCKOUT_MAX_SECONDS."""
    over = failures - settings.LOGIN_FAILURE_LIMIT
    if over < 0:
        return 0
    cap = settings.LOGIN_LOCKOUT_MAX_SECONDS
    return min(cap, settings.LOGIN_LOCKOUT_BASE_SECONDS * 2 ** min(over, 62))


def locked_until(failures: int, last_failure: dt.datetime | None) -> dt.datetime | None:
    """When a pair with these failures may try again; None when it is not held up at all."""
    wait = delay_seconds(failures)
    if not wait or last_failure is None:
        return None
    return last_failure + dt.timedelta(seconds=wait)


@dataclasses.dataclass(frozen=True)
class PairState:
    failures: int
    last_failure: dt.datetime | None
    until: dt.datetime | None  # locked_until(failures, last_failure)
    now: dt.datetime

    @property
    def locked(self) -> bool:
        return self.until is not None and self.now < self.until

    @property
    def seconds_left(self) -> int:
        if self.until is None or not self.locked:
            return 0
        return max(0, math.ceil((self.until - self.now).total_seconds()))


def memory_threshold(now: dt.datetime) -> dt.datetime:
    """Failures older than this are forgotten (AXES_COOLOFF_TIME, set from LOGIN_FAILURE_MEMORY_HOURS): the same
    threshold axes filters its attempts with."""
    return now - get_cool_off()


def pair_state(username: str | None, ip_address: str | None, *, now: dt.datetime | None = None) -> PairState:
    """A pair's failures within the memory (summed over its rows: axes keeps one row per user agent) and its lock."""
    now = now or timezone.now()
    totals = (AccessAttempt.objects.filter(username=username, ip_address=ip_address or None,
                                           attempt_time__gte=memory_threshold(now))
              .aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time")))
    failures = totals["failures"] or 0
    return PairState(failures=failures, last_failure=totals["last"], until=locked_until(failures, totals["last"]),
                     now=now)


def request_pair_state(request: HttpRequest, credentials: dict[str, Any] | None) -> PairState:
    ip_address = getattr(request, "axes_ip_address", None) or ratelimit.limited_address(request)
    return pair_state(username_of(request, credentials), ip_address,
                      now=getattr(request, "axes_attempt_time", None))


def failure_limit(request: HttpRequest, credentials: dict[str, Any] | None) -> int:
    """AXES_FAILURE_LIMIT: axes refuses a pair whose failures reach this number. Below LOGIN_FAILURE_LIMIT the limit is
    that; a locked pair's own count (refused); a pair whose wait is over one more than its count (one try allowed;
    its failure makes the count reach the limit again, with the doubled wait)."""
    state = request_pair_state(request, credentials)
    if state.failures < settings.LOGIN_FAILURE_LIMIT:
        return settings.LOGIN_FAILURE_LIMIT
    return state.failures if state.locked else state.failures + 1


# --- the per-address ceiling ----------------------------------------------------------------------------------------


def count_address_failure(request: HttpRequest, credentials: dict[str, Any] | None) -> None:
    """A failed login from this address counts towards its ceiling (accounts.receivers, on user_login_failed). Wrong
    API keys do not: an integration stuck on a revoked key must not keep its office's people from logging in; they
    are limited per (API_KEY_USERNAME, address) instead."""
    if username_of(request, credentials) == API_KEY_USERNAME or getattr(request, "login_refusal", None):
        return
    ratelimit.count(ADDRESS_SCOPE, ratelimit.limited_address(request),
                    window_seconds=settings.LOGIN_RATE_WINDOW_SECONDS)


def address_refusal(request: HttpRequest) -> ratelimit.Window | None:
    """The address's window when it has reached LOGIN_ADDRESS_FAILURE_LIMIT failures, else None."""
    window = ratelimit.peek(ADDRESS_SCOPE, ratelimit.limited_address(request))
    return window if window.count >= settings.LOGIN_ADDRESS_FAILURE_LIMIT else None


class AddressCeilingBackend:
    """First of AUTHENTICATION_BACKENDS: an address at its failure ceiling is refused before any password is checked.
    Like axes' own backend it raises PermissionDenied (authenticate() stops and sends user_login_failed) and marks
    the request locked out, so axes records nothing for the try and its middleware answers with `lockout_response`.
    Like axes' backend it has no get_user: it never logs anyone in (and the test client's force_login, which takes the
    first backend with one, passes it by)."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> None:
        if request is None:
            return None  # axes' backend, next, refuses a login without a request
        refusal = address_refusal(request)
        if refusal is None:
            return None
        request.login_refusal = refusal  # type: ignore[attr-defined]  # our mark on Django's request
        request.axes_locked_out = True  # type: ignore[attr-defined]  # read by axes, as its own backend sets it
        raise PermissionDenied("too many failed logins from this address")


# --- the current password, asked again -------------------------------------------------------------------------------


def check_current_password(*, request: HttpRequest, user: Any, password: str,
                           alternative: Callable[[], bool] | None = None) -> bool:
    """The password of someone logged in, asked again: to change it (the site's and the console's "Change password",
    accounts.forms) or to confirm it is them (accounts.two_factor). Whoever holds the session (a shared computer, a
    stolen cookie) must not guess it there faster than at the login, so it is a login like any other: refused
    unchecked while the person's (username, address) pair or the address is held up, and a wrong password is a failed
    login of that pair (axes counts it, the address's ceiling and the audit log too; accounts.receivers). A refused
    or locking try marks the request as axes' own backend does, and axes' middleware answers with the login's 429
    page (`lockout_response`). `alternative` (a current code instead of the password) is asked before a wrong
    password is counted; a right password or code counts nothing and clears nothing."""
    credentials = {"username": user.get_username()}
    allowed = AxesProxyHandler.is_allowed(request, credentials)  # also gives the request axes' attributes
    refusal = address_refusal(request)
    if refusal is not None:
        request.login_refusal = refusal  # type: ignore[attr-defined]  # our mark on Django's request
    if refusal is not None or not allowed:
        request.axes_locked_out = True  # type: ignore[attr-defined]  # read by axes, as its own backend sets it
        request.axes_credentials = credentials  # type: ignore[attr-defined]  # the pair the 429 page speaks of
    elif (password and user.check_password(password)) or (alternative is not None and alternative()):
        return True
    # Axes records the failure (or, refused, only says so), the audit log its line (accounts.receivers).
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    return False


# --- what a refused login is told -----------------------------------------------------------------------------------


def wait_text(seconds: int) -> str:
    """ "45 seconds", "2 minutes": a wait in words, rounded up to whole minutes from a minute on."""
    if seconds < 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def wait_seconds(request: HttpRequest, credentials: dict[str, Any] | None) -> int:
    """How long this request's pair waits now (at least a second: it was refused)."""
    return max(1, request_pair_state(request, credentials).seconds_left)


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict[str, Any] | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE (axes calls it with these three arguments): the 429 page in the site's design, saying how
    long to wait, with Retry-After. An answer that is a 429 already (the API's problem details, api.auth) stays."""
    if original_response is not None and original_response.status_code == 429:
        return original_response
    refusal = getattr(request, "login_refusal", None)
    if refusal is not None:
        seconds = refusal.resets_in
        message = _("Too many failed logins came from your address. Please wait %(wait)s, then try again.")
    else:
        seconds = wait_seconds(request, credentials)
        message = _("Too many failed logins for this username from your address. Please wait %(wait)s, then try "
                    "again, or reset your password.")
    return ratelimit.too_many(request, message % {"wait": wait_text(seconds)}, retry_after=seconds,
                              context={"offer_password_reset": True})


# --- the console: the lockout list and clearing ---------------------------------------------------------------------


def pairs(queryset: QuerySet[AccessAttempt], *, now: dt.datetime | None = None) -> QuerySet[AccessAttempt]:
    """One row per pair within the memory (its latest; axes keeps a row per user agent), annotated with the pair's
    `pair_failures`."""
    now = now or timezone.now()
    threshold = memory_threshold(now)
    same_pair = AccessAttempt.objects.filter(username=OuterRef("username"), ip_address=OuterRef("ip_address"),
                                             attempt_time__gte=threshold)
    total = (same_pair.order_by().values("username", "ip_address").annotate(total=Sum("failures_since_start"))
             .values("total")[:1])
    newer = same_pair.filter(Q(attempt_time__gt=OuterRef("attempt_time"))
                             | Q(attempt_time=OuterRef("attempt_time"), pk__gt=OuterRef("pk")))
    return (queryset.filter(attempt_time__gte=threshold).exclude(Exists(newer))
            .annotate(pair_failures=Coalesce(Subquery(total), F("failures_since_start"))))


def locked_q(now: dt.datetime) -> Q:
    """Rows of `pairs()` locked at `now`, in SQL: for each count from LOGIN_FAILURE_LIMIT up to the one whose wait
    reaches the cap, last failure within that count's wait."""
    conditions = []
    failures = settings.LOGIN_FAILURE_LIMIT
    while True:
        wait = delay_seconds(failures)
        if wait <= 0:
            break
        since = now - dt.timedelta(seconds=wait)
        if wait >= settings.LOGIN_LOCKOUT_MAX_SECONDS or failures - settings.LOGIN_FAILURE_LIMIT >= 62:
            conditions.append(Q(pair_failures__gte=failures, attempt_time__gt=since))
            break
        conditions.append(Q(pair_failures=failures, attempt_time__gt=since))
        failures += 1
    return functools.reduce(operator.or_, conditions) if conditions else Q(pk__in=[])


def clear_lockout(*, username: str | None, ip_address: str | None, by: Any, request: HttpRequest | None = None) -> int:
    """An agent lets a pair log in again: its failures are forgotten (every row of the pair) and the audit log says
    who did it, for which account (never the username: a name that is no account's is kept as a digest)."""
    with transaction.atomic():
        rows = AccessAttempt.objects.filter(username=username, ip_address=ip_address or None)
        failures = rows.aggregate(total=Sum("failures_since_start"))["total"] or 0
        deleted, _detail = rows.delete()
        if deleted:
            user = account_named(username)
            details: dict[str, Any] = {"failures": failures, "address": ip_address or ""}
            if user is None and username != API_KEY_USERNAME:
                details["username_digest"] = audit.username_digest(username or "")
            audit.record("lockout_cleared", actor=by, subject=user, request=request, **details)
    return deleted


# --- password reset -------------------------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    """One spelling per address for the per-email limit: NFKC, case-folded (as the reset form matches accounts)."""
    return normalize_username(email)


def reset_refusal_seconds(request: HttpRequest) -> int | None:
    """Count a password reset request from this address; past PASSWORD_RESET_ADDRESS_LIMIT in the window, the
    seconds until the window is over (the request is refused with the 429 page)."""
    address = ratelimit.limited_address(request)
    counted = ratelimit.count(RESET_ADDRESS_SCOPE, address, window_seconds=settings.PASSWORD_RESET_WINDOW_SECONDS)
    if counted <= settings.PASSWORD_RESET_ADDRESS_LIMIT:
        return None
    return ratelimit.peek(RESET_ADDRESS_SCOPE, address).resets_in


def reset_email_allowed(email: str) -> bool:
    """Count a reset asked for this email address; False past PASSWORD_RESET_EMAIL_LIMIT in the window (no email is
    sent, and the asker sees the same page as always: whether the address has an account is never told)."""
    return ratelimit.hit(RESET_EMAIL_SCOPE, normalize_email(email), limit=settings.PASSWORD_RESET_EMAIL_LIMIT,
                         window_seconds=settings.PASSWORD_RESET_WINDOW_SECONDS)


def reset_refused_message(seconds: int) -> str:
    return _("Too many password reset requests came from your address. Please wait %(wait)s, then try again.") % {
        "wait": wait_text(seconds)}


def record_reset_request(*, request: HttpRequest, users: list[Any], sent: bool) -> None:
    """The audit log's line per account the request matched (none: one line without an account); never the email."""
    for user in users or [None]:
        audit.record("password_reset", subject=user, request=request, email_sent=sent and user is not None)
