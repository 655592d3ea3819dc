"""Refunds made before refunds had lines get them (claimed items in order, then shipping), so every item's
refunded total is true; and the "finance" group that works the payout queue and records seller settlements.

The finance group's permissions, frozen here on purpose:

    claims.manage_payouts      claims.services.mark_refund_paid / mark_refund_failed, CSV export and import
    claims.view_refund         the payout queue
    claims.view_claim          the claim a refund belongs to (read-only)
    sellers.view_seller, sellers.view_ledgerentry
                               a seller's ledger and balance
    sellers.add_ledgerentry    settlements, which are new ledger entries
    orders.view_order          the order's payment method and reference
"""

import importlib
from decimal import Decimal

from django.db import migrations
from django.db.models import F

GROUP_NAME = "finance"

PERMISSIONS = [
    ("claims", "manage_payouts"),
    ("claims", "view_refund"),
    ("claims", "view_claim"),
    ("sellers", "view_seller"),
    ("sellers", "view_ledgerentry"),
    ("sellers", "add_ledgerentry"),
    ("orders", "view_order"),
]


def backfill_lines(apps, schema_editor):
    Refund = apps.get_model("claims", "Refund")
    RefundLine = apps.get_model("claims", "RefundLine")
    ClaimItem = apps.get_model("claims", "ClaimItem")
    OrderItem = apps.get_model("orders", "OrderItem")
    Order = apps.get_model("orders", "Order")
    for refund in Refund.objects.filter(lines__isnull=True).select_related("claim").order_by("pk"):
        left = refund.amount
        for claim_item in ClaimItem.objects.filter(claim_id=refund.claim_id).order_by("pk"):
            item = OrderItem.objects.get(pk=claim_item.order_item_id)
            room = min(item.unit_price * claim_item.quantity, item.unit_price * item.quantity - item.refunded_amount)
            share = min(left, max(room, Decimal("0.00")))
            if share > 0:
                RefundLine.objects.create(refund=refund, order_item=item, amount=share)
                OrderItem.objects.filter(pk=item.pk).update(refunded_amount=F("refunded_amount") + share)
                left -= share
        order = Order.objects.get(pk=refund.claim.order_id)
        share = min(left, order.shipping_amount - order.shipping_refunded)
        if share > 0:
            RefundLine.objects.create(refund=refund, order_item=None, amount=share)
            Order.objects.filter(pk=order.pk).update(shipping_refunded=F("shipping_refunded") + share)


def create_finance_group(apps, schema_editor):
    # The agents group's migration knows how to create permissions before post_migrate (same three apps).
    ensure_permissions = importlib.import_module("claims.migrations.0005_agents_group").ensure_permissions

    using = schema_editor.connection.alias
    ensure_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.using(using).get_or_create(name=GROUP_NAME)
    group.permissions.set([Permission.objects.using(using).get(content_type__app_label=label, codename=codename)
                           for label, codename in PERMISSIONS])


def remove_finance_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("claims", "0007_payouts"),
        ("orders", "0004_backfill_shipping_and_confirmation"),
        ("sellers", "0003_settlement"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(backfill_lines, migrations.RunPython.noop),
        migrations.RunPython(create_finance_group, remove_finance_group),
    ]
