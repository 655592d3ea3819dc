"""Where a person starts: agents and the finance team in the support console, seller staff in the seller dashboard,
everyone else with their orders, and who is not logged in at the login page. The home page sends them there
(config.urls.home) and every error page offers it as the way back (claims.templatetags.error_pages)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from sellers.selectors import seller_ids_of

from . import roles


@dataclasses.dataclass(frozen=True)
class StartPage:
    url_name: str
    label: Any  # lazy text: "Go to …", in the reader's language when it is shown

    @property
    def url(self) -> str:
        return reverse(self.url_name)


LOGIN = StartPage("login", _("Log in"))
CONSOLE = StartPage("admin:index", _("Go to the support console"))
SELLER_DASHBOARD = StartPage("sellers:queue", _("Go to the seller dashboard"))
ORDERS = StartPage("orders:list", _("Go to your orders"))
# When who is asking cannot be known (the 500 page reads no database): the home page finds out and sends them on.
HOME = StartPage("home", _("Go to the start page"))


def start_page(user: Any) -> StartPage:
    if user is None or not user.is_authenticated:
        return LOGIN
    if roles.is_agent(user) or roles.may_manage_payouts(user):
        return CONSOLE
    if seller_ids_of(user):
        return SELLER_DASHBOARD
    return ORDERS
