from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    # What the console lists under it: the audit log (core/admin.py).
    verbose_name = _("Security")
