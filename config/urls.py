from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import include, path
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from accounts import privacy_views
from api import views as api_views
from api.api import api
from claims import start
from claims import views as claim_views
from claims.carrier_webhook import carrier_tracking
from claims.webhooks import payments_confirmation

from . import health, metrics
from .views import PasswordChangeView, PasswordResetConfirmView, PasswordResetView


def home(request):
    """Sends each person to their start page (claims.start): agents and the finance team to the support console,
    seller staff to the seller dashboard, everyone else to their orders."""
    return redirect(start.start_page(request.user).url_name)


def _console_name() -> str:
    """"Support console · <MARKETPLACE_NAME>": the console's header, and the end of every console page's <title>
    (templates/admin/base_site.html: "<page> · Support console · <name>"). Read when a page is drawn, in its
    language."""
    return f"{_('Support console')} · {settings.MARKETPLACE_NAME}"


admin.site.site_header = lazy(_console_name, str)()
admin.site.site_title = lazy(_console_name, str)()
admin.site.index_title = _("Claims, sellers and orders")

# The error pages in the site's design and the reader's language, with the request's reference (config.errors).
handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"

urlpatterns = [
    # Probes of load balancers and Prometheus (config.health, config.metrics), answered by core.probes before the
    # rest of the middleware: no login, session, CSRF or HTTPS redirect.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    # Ours before Django's (accounts/ below): reset limited per address and per email; changes audited.
    path("accounts/password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password_change/", PasswordChangeView.as_view(), name="password_change"),
    path("accounts/reset/<uidb64>/<token>/", PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("orders/", include(([
        path("", claim_views.order_list, name="list"),
        path("<str:number>/", claim_views.order_detail, name="detail"),
    ], "orders"))),
    # What each problem `type` of the API means (pages for people, outside the API and its schema).
    path("api/problems/", api_views.problems, name="api_problems"),
    path("api/problems/<slug:code>", api_views.problems, name="api_problem"),
    path("api/", api.urls),
    path("webhooks/carrier/", carrier_tracking, name="carrier_webhook"),
    path("webhooks/payments/", payments_confirmation, name="payments_webhook"),
    path("seller/", include("claims.seller.urls")),
    path("account/", include("accounts.urls")),
    # What the marketplace keeps, why and for how long (public; accounts.privacy_views).
    path("privacy/", privacy_views.privacy_notice, name="privacy"),
    path("", include("claims.urls")),
]
