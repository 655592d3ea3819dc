from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from accounts import privacy_views
from api import views as api_views
from api.api import api
from claims import views as claim_views
from claims.carrier_webhook import carrier_tracking
from claims.webhooks import payments_confirmation
from core import roles

from .views import PasswordChangeView, PasswordResetConfirmView, PasswordResetView


def home(request):
    """Where a person starts: agents and the finance team in the support console, seller staff in the seller
    dashboard, everyone else with their orders."""
    if not request.user.is_authenticated:
        return redirect("login")
    if roles.is_agent(request.user) or roles.may_manage_payouts(request.user):
        return redirect("admin:index")
    if request.user.seller_memberships.exists():
        return redirect("sellers:queue")
    return redirect("orders:list")


admin.site.site_header = _("Support console")
admin.site.site_title = _("Support console")
admin.site.index_title = _("Claims, sellers and orders")

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    # Ours before Django's (accounts/ below): reset limited per address and per email; changes audited.
    path("accounts/password_reset/", PasswordResetView.as_view(
        extra_email_context={"site_name": settings.SITE_NAME}), name="password_reset"),
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
