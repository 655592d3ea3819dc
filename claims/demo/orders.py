"""The demo's orders, as the shop hands them over (orders.services.create_order copies each item's warranty from
the seller's policy), shipped and delivered as the seller and the carrier report them (claims.services.tracking).
Days are days before now; orders are placed at 9:15 (plus a minute per order), shipped at 16:30, delivered at 13:40."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from claims.services import tracking
from orders.models import BuyerKind, PaymentMethod, ShipmentSource
from orders.services import create_order

from .files import imei
from .timeline import Demo, Story

ADDRESSES = {
    "buyer": dict(delivery_name="Anna Becker", delivery_line1="Torstraße 112", delivery_postal_code="10119",
                  delivery_city="Berlin"),
    "buyer2": dict(delivery_name="Jonas Weber", delivery_line1="Leopoldstraße 58", delivery_line2="3. OG",
                   delivery_postal_code="80802", delivery_city="München"),
    "business": dict(delivery_name="Schmidt & Partner Steuerberatung GmbH", delivery_line1="Hohenzollernring 21",
                     delivery_line2="z. Hd. Klaus Schmidt", delivery_postal_code="50672", delivery_city="Köln"),
    # Orders delivered to other markets: the order's market is its delivery country (markets.selectors.market_for).
    "buyer2_bratislava": dict(delivery_name="Jonas Weber", delivery_line1="Obchodná 42", delivery_line2="byt 7",
                              delivery_postal_code="811 06", delivery_city="Bratislava", delivery_country="SK"),
    "buyer_lisbon": dict(delivery_name="Anna Becker", delivery_line1="Rua Garrett 74, 2.º Esq.",
                         delivery_postal_code="1200-204", delivery_city="Lisboa", delivery_country="PT"),
}

TRACKING_NUMBERS = {"DHL": "00340434{:010d}", "DPD": "0150{}", "Hermes": "H10{}", "GLS": "ZB{}DE"}
TRACKING_BASE = {"DHL": 161094000, "DPD": 780040, "Hermes": 117470000, "GLS": 45100}


def stories(d: Demo) -> list[Story]:
    found: list[Story] = []
    shipped_orders = 0

    def o(number: str, **spec: Any) -> None:
        nonlocal shipped_orders
        if spec.get("shipped") is not None:
            shipped_orders += 1
            carrier = spec.setdefault("carrier", "DHL")
            spec["tracking_number"] = TRACKING_NUMBERS[carrier].format(TRACKING_BASE[carrier] + shipped_orders)
        found.append(order(d, number, **spec))

    o("DEMO-1001", buyer="buyer", seller="techhaven", placed=16, shipped=15, delivered=13, items=[
        dict(title="Apple iPhone 13, 128 GB, Midnight", sku="APL-IP13-128-MID", condition="like_new",
             unit_price="529.00", serial_number=imei("35391811204377"))])
    o("DEMO-1002", buyer="buyer2", seller="techhaven", placed=14, shipped=13, delivered=11, carrier="Hermes",
      items=[dict(title="Samsung Galaxy S22, 128 GB, Phantom Black", sku="SAM-S22-128-BLK", condition="used",
                  unit_price="319.00", serial_number=imei("35067412873310"))])
    o("DEMO-1003", buyer="business", seller="phonecycle", placed=9, shipped=8, delivered=6, carrier="DPD",
      shipping="9.90", items=[
          dict(title="Lenovo ThinkPad T14 Gen 3, Core i5, 16 GB, 512 GB SSD, German keyboard",
               sku="LEN-T14G3-I5-16-DE", condition="like_new", quantity=2, unit_price="689.00",
               serial_number="PF3K7QXA, PF3K7QXD")])
    o("DEMO-1004", buyer="buyer2", seller="phonecycle", placed=40, shipped=39, delivered=37, items=[
        dict(title="Apple AirPods Pro (2nd generation) with MagSafe case", sku="APL-APP2-MS", condition="used",
             unit_price="149.00", serial_number="H6KXQ2LM1059")])
    o("DEMO-1005", buyer="buyer", seller="techhaven", placed=25, shipped=24, delivered=22, items=[
        dict(title="Google Pixel 7, 128 GB, Obsidian", sku="GOO-PX7-128-OBS", condition="new",
             unit_price="449.00", serial_number=imei("35818274015512")),
        dict(title="Spigen Tough Armor case for Pixel 7", sku="SPG-PX7-TA", condition="new", unit_price="19.90",
             is_consumable=False)])
    o("DEMO-1006", buyer="buyer2", seller="gadgetdeals", placed=21, shipped=19, carrier="GLS", items=[
        dict(title="Sony WH-1000XM5 wireless noise-cancelling headphones, black", sku="SON-WH1000XM5-B",
             condition="new", unit_price="299.00", serial_number="S01-5523871-B")])
    o("DEMO-1007", buyer="buyer", seller="phonecycle", placed=12, shipped=11, delivered=9, items=[
        dict(title='Apple MacBook Air 13" M1, 8 GB, 256 GB, Space Grey (grade: very good)',
             sku="APL-MBA-M1-8-256-SG", condition="used", unit_price="579.00", serial_number="FVFGK2XSQ6L4")])
    o("DEMO-1008", buyer="buyer2", seller="techhaven", placed=30, shipped=29, delivered=27, items=[
        dict(title="Bose QuietComfort 45 headphones, white smoke", sku="BOS-QC45-WS", condition="like_new",
             unit_price="179.00", serial_number="077171Z21340087AE")])
    o("DEMO-1009", buyer="buyer", seller="phonecycle", placed=15, shipped=14, delivered=12, items=[
        dict(title="Apple iPhone 12 mini, 64 GB, Blue", sku="APL-IP12M-64-BLU", condition="used",
             unit_price="289.00", serial_number=imei("35304611872090"))])
    o("DEMO-1010", buyer="business", seller="techhaven", placed=20, shipped=19, delivered=18, carrier="DPD",
      items=[dict(title="Dell XPS 13 9315, Core i7, 16 GB, 512 GB, Sky", sku="DEL-XPS13-9315-I7",
                  condition="like_new", unit_price="849.00", serial_number="7QK2HT3")])
    o("DEMO-1011", buyer="buyer2", seller="platform", placed=18, shipped=16, shipping="0.00", items=[
        dict(title="JBL Tune 760NC headphones, blue", sku="JBL-T760NC-BLU", condition="new", unit_price="69.99")])
    o("DEMO-1012", buyer="buyer", seller="techhaven", placed=45, shipped=44, delivered=42, items=[
        dict(title="OnePlus 11 5G, 256 GB, Titan Black", sku="OPL-11-256-BLK", condition="used",
             unit_price="379.00", serial_number=imei("86412305118842"))])
    o("DEMO-1013", buyer="buyer2", seller="phonecycle", placed=17, shipped=15, items=[
        dict(title="Samsung Galaxy Buds2 Pro, graphite", sku="SAM-BUDS2PRO-GR", condition="new",
             unit_price="139.00", serial_number="R9ZT80BQ4VL")])
    o("DEMO-1014", buyer="business", seller="techhaven", placed=196, shipped=194, delivered=191,
      to_order_address=False, items=[
          dict(title="Lenovo ThinkPad X1 Carbon Gen 10, Core i7, 16 GB, 1 TB", sku="LEN-X1C10-I7-16-1T",
               condition="used", unit_price="899.00", serial_number="PF4A1ZC9")])
    o("DEMO-1015", buyer="buyer", seller="techhaven", placed=30, shipped=29, delivered=27, items=[
        dict(title="Apple iPhone 14, 128 GB, Blue", sku="APL-IP14-128-BLU", condition="like_new",
             unit_price="589.00", serial_number=imei("35162375209913"))])
    o("DEMO-1016", buyer="buyer2", seller="phonecycle", placed=35, shipped=34, delivered=31,
      payment=PaymentMethod.PAYPAL, items=[
          dict(title="Beats Studio Pro wireless headphones, sandstone", sku="BTS-STPRO-SAND", condition="new",
               unit_price="249.00", serial_number="GX7QW1L0P2")])
    o("DEMO-1017", buyer="buyer", seller="platform", placed=60, shipped=59, delivered=57, shipping="0.00", items=[
        dict(title='Apple MacBook Pro 14" M1 Pro, 16 GB, 512 GB, Silver', sku="APL-MBP14-M1P-16-512",
             condition="like_new", unit_price="1249.00", serial_number="C02GK3ABQ05N")])
    o("DEMO-1018", buyer="buyer2", seller="techhaven", placed=3, items=[
        dict(title="Microsoft 365 Personal, 12-month licence (download)", sku="MS-365-PERS-12M",
             condition="new", unit_price="69.00", is_digital=True)])
    # Orders without a claim, for the buyers' order lists and to try the "Get help" form.
    o("DEMO-1019", buyer="buyer", seller="phonecycle", placed=1, items=[
        dict(title="Nothing Phone (2), 256 GB, dark grey", sku="NTH-PH2-256-DG", condition="new",
             unit_price="549.00", serial_number=imei("35922610447518"))])
    o("DEMO-1020", buyer="business", seller="platform", placed=8, shipped=7, delivered=5, shipping="0.00", items=[
        dict(title="Jabra Evolve2 65 UC stereo headset", sku="JAB-EV265-UC", condition="new", quantity=5,
             unit_price="189.00")])
    o("DEMO-1021", buyer="buyer", seller="platform", placed=7, shipped=6, delivered=4, items=[
        dict(title="Apple AirPods (3rd generation) with Lightning case", sku="APL-AP3-LC", condition="new",
             unit_price="179.00", serial_number="GX9HX3R1QK")])
    # Slovakia: the seller's 21 months for like-new goods are above the 12 the law gives; a defective claim.
    o("DEMO-1022", buyer="buyer2", address="buyer2_bratislava", seller="techhaven", placed=40, shipped=39,
      delivered=36, carrier="DPD", items=[
          dict(title="Apple iPad (9th generation), 64 GB, Space Grey", sku="APL-IPAD9-64-SG", condition="like_new",
               unit_price="279.00", serial_number="DMPHK4X2Q1GC")])
    # Portugal: three years on new goods whatever the seller's 24 months; a perishable box of pastries (claims by
    # the day after receipt) and a consumable whose warranty ends at the date on its packaging.
    o("DEMO-1023", buyer="buyer", address="buyer_lisbon", seller="techhaven", placed=10, shipped=9, delivered=7,
      carrier="GLS", items=[
          dict(title="Samsung Galaxy A54 5G, 128 GB, Awesome Graphite", sku="SAM-A54-128-GRA", condition="new",
               unit_price="349.00", serial_number=imei("35478911652207")),
          dict(title="Pastéis de nata, box of 6 (baked on the day of dispatch)", sku="PDN-BOX-6", condition="new",
               unit_price="9.90", is_perishable=True, expires_on=d.day(5)),
          dict(title="Screen cleaning spray, 100 ml", sku="CLN-SPRAY-100", condition="new", unit_price="6.50",
               is_consumable=True, expires_on=d.day(-300))])
    return found


def order(d: Demo, number: str, *, buyer: str, seller: str, placed: int, items: list[dict[str, Any]],
          shipping: str = "4.99", carrier: str = "DHL", tracking_number: str = "", shipped: int | None = None,
          delivered: int | None = None, to_order_address: bool = True, payment: str = PaymentMethod.CARD,
          address: str | None = None) -> Story:
    """Placed `placed` days ago; shipped and delivered are days ago too (None: not yet). A parcel that was
    delivered is the carrier's from the start; one still under way is only what the seller entered. The delivery
    address is the buyer's own unless `address` names another of ADDRESSES."""
    index = int(number[-2:]) - 1
    yield d.ago(placed, at=f"09:{15 + index:02d}")
    placed_at = timezone.now()
    kind = BuyerKind.BUSINESS if buyer == "business" else BuyerKind.CONSUMER
    digital = all(item.get("is_digital") for item in items)
    d.orders[number] = create_order(
        number=number, buyer=d.u(buyer), seller=d.sellers[seller], placed_at=placed_at, items=items,
        buyer_kind=kind, shipping=Decimal("0.00") if digital else Decimal(shipping),
        ship_by=None if digital else (placed_at + dt.timedelta(days=2)).date(),
        estimated_delivery=None if digital else (placed_at + dt.timedelta(days=4)).date(),
        payment_method=payment,
        card_last4=f"{4242 + index * 7 % 5000:04d}" if payment == PaymentMethod.CARD else "",
        payment_reference=f"{'PAYID-' if payment == PaymentMethod.PAYPAL else 'pi_3Demo'}{number[-4:]}7731",
        **ADDRESSES[address or buyer],
    )
    if shipped is None:
        return
    yield d.ago(shipped, at="16:30")
    tracking.record_shipment(order=d.orders[number], carrier=carrier, tracking_number=tracking_number,
                             shipped_at=timezone.now(),
                             source=ShipmentSource.SELLER if delivered is None else ShipmentSource.CARRIER)
    if delivered is None:
        return
    yield d.ago(delivered, at="13:40")
    tracking.apply_carrier_update(carrier=carrier, tracking_number=tracking_number, status="delivered",
                                  occurred_at=timezone.now(), delivered_to_order_address=to_order_address)
