from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and privacy")

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - the audit log's login, lockout and password receivers
