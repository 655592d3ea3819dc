from django.urls import path

from . import privacy_views, views

app_name = "accounts"

urlpatterns = [
    path("security/", views.security, name="security"),
    path("two-factor/setup/", views.mfa_setup, name="mfa_setup"),
    path("two-factor/verify/", views.mfa_verify, name="mfa_verify"),
    path("two-factor/recovery-codes/", views.mfa_recovery_codes, name="mfa_recovery_codes"),
    # privacy (accounts.privacy_views): the person's own data, downloaded, and their request to be forgotten
    path("privacy/", privacy_views.privacy, name="privacy"),
    path("privacy/export/", privacy_views.export_data, name="export"),
    path("privacy/erasure/", privacy_views.erasure_request, name="erasure_request"),
]
