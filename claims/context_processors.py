from django.conf import settings

from sellers.selectors import seller_ids_of

from . import roles


def site(request):
    """What every page needs for its header: the site's name and the viewer's roles (one query at most)."""
    user = getattr(request, "user", None)
    nav = {"is_agent": False, "is_seller_staff": False}
    if user is not None and user.is_authenticated:
        # "Support console" in the header: agents, and the finance team (payout queue, settlements).
        nav["is_agent"] = roles.is_agent(user) or roles.may_manage_payouts(user)
        nav["is_seller_staff"] = bool(seller_ids_of(user))  # the query the page's own role checks reuse
    return {"site_name": settings.SITE_NAME, "nav": nav}
