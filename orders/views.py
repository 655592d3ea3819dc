from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from claims.eligibility import receipt_date, trial_ends_on, warranty_ends_on
from claims.policy import current_policy

from . import selectors

ORDERS_PER_PAGE = 20


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.buyer_orders(request.user), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "orders/list.html", {"page": page})


@login_required
@require_GET
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    order = selectors.buyer_order(request.user, number)
    policy = current_policy()
    received_on = receipt_date(order, policy=policy)
    trial_days = order.seller.warranty_policy.trial_days if hasattr(order.seller, "warranty_policy") else 30
    items = [
        {"item": item, "warranty_until": warranty_ends_on(item, received_on),
         "trial_until": None if item.is_digital else trial_ends_on(item, received_on, trial_days=trial_days)}
        for item in order.items.all()
    ]
    return render(request, "orders/detail.html", {
        "order": order, "items": items, "received_on": received_on, "today": timezone.localdate(),
    })
