"""The accounts app in the support console: one module per page family, imported here (each registers its pages)."""

from . import admin_lockouts as admin_lockouts
from . import admin_privacy as admin_privacy
from . import admin_two_factor as admin_two_factor
from . import admin_users as admin_users
