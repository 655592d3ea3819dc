"""Existing rows under the new rules: the shipping part of each order's total, and shipments that the carrier
(or the platform) reported counted as confirmed."""

from decimal import Decimal

from django.db import migrations
from django.db.models import F, Sum


def backfill(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    OrderItem = apps.get_model("orders", "OrderItem")
    Shipment = apps.get_model("orders", "Shipment")
    lines = {row["order_id"]: row["items"] for row in
             OrderItem.objects.values("order_id").annotate(items=Sum(F("unit_price") * F("quantity")))}
    for order in Order.objects.only("pk", "total").iterator():
        shipping = max(order.total - (lines.get(order.pk) or Decimal("0.00")), Decimal("0.00"))
        if shipping:
            Order.objects.filter(pk=order.pk).update(shipping_amount=shipping)
    Shipment.objects.filter(source__in=["carrier", "agent"], confirmed_at__isnull=True).update(
        confirmed_at=F("updated_at"))


class Migration(migrations.Migration):

    dependencies = [("orders", "0003_refunds_and_tracking")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
