"""No back door through the admin: orders, their items and shipments are read-only there, for superusers too;
only the order services write them. The agent's dispute link on the order page stays."""

import pytest
from django.urls import reverse

from claims.tests.admin_factories import make_console_agent, make_superuser
from claims.tests.factories import delivered_order
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("make_user", [make_superuser, make_console_agent])
def test_the_order_page_is_read_only_for_everyone(client, make_user):
    order = delivered_order()
    shipment = order.shipments.get()
    client.force_login(make_user())
    url = reverse("admin:orders_order_change", args=[order.pk])
    page = client.get(url).content.decode()
    assert 'name="delivery_name"' not in page and 'name="_save"' not in page
    assert 'name="shipments-0-tracking_number"' not in page and shipment.tracking_number in page
    response = client.post(url, {"delivery_name": "Mallory", "total": "1.00", "shipments-TOTAL_FORMS": "1",
                                 "shipments-INITIAL_FORMS": "1", "shipments-0-id": str(shipment.pk),
                                 "shipments-0-delivered_to_order_address": "on"})
    assert response.status_code == 403
    assert client.get(reverse("admin:orders_order_add")).status_code == 403
    assert client.post(reverse("admin:orders_order_delete", args=[order.pk]), {"post": "yes"}).status_code == 403
    order = Order.objects.get(pk=order.pk)
    assert order.delivery_name == "Erika Mustermann" and order.shipments.get().delivered_to_order_address


def test_the_agent_records_a_dispute_from_the_order_page(client):
    order = delivered_order()
    client.force_login(make_console_agent())
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert reverse("admin:claims_claim_record_dispute") + f"?order={order.number}" in page
    assert "Record a payment-provider dispute" in page
