from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from orders.models import Order
from sellers.selectors import seller_ids_of

from . import keeping_up, roles

# The claim pages that read a claim's notifications once they are sent (claims.services.mark_seen): the header on them
# does not count that claim's news as unread any more.
CLAIM_PAGES = {"claims:detail", "sellers:claim"}


def _claim_on_page(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.kwargs.get("number", "") if match is not None and match.view_name in CLAIM_PAGES else ""


def site(request: HttpRequest) -> dict[str, Any]:
    """What every page needs for its header: the marketplace's name (`marketplace_name`: a view's own `site_name`,
    such as Django's login view gives from the request's host, never replaces it), the viewer's roles (one query at
    most) and their unread notifications (one more, when the page shows them)."""
    user = getattr(request, "user", None)
    nav: dict[str, Any] = {"is_agent": False, "is_seller_staff": False, "is_buyer": False, "unread": None}
    if user is not None and user.is_authenticated:
        # "Support console" in the header: agents, and the finance team (payout queue, settlements).
        nav["is_agent"] = roles.is_agent(user) or roles.may_manage_payouts(user)
        nav["is_seller_staff"] = bool(seller_ids_of(user))  # the query the page's own role checks reuse
        # The buyer's links ("My orders", "My requests"): everyone who works neither for a seller nor in the support
        # console, and those only when they bought something themselves (asked only if a page shows the links).
        nav["is_buyer"] = (SimpleLazyObject(lambda: Order.objects.filter(buyer=user).exists())
                           if nav["is_seller_staff"] or nav["is_agent"] else True)
        # "Notifications" with the unread count (claims.keeping_up): one query, only on a page that shows it.
        nav["unread"] = SimpleLazyObject(lambda: keeping_up.unread(user, except_claim=_claim_on_page(request)))
    return {"marketplace_name": settings.MARKETPLACE_NAME, "nav": nav}
