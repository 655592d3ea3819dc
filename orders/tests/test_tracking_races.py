"""Two connections at once on PostgreSQL: two sellers registering one parcel, and one carrier event delivered
twice. The second waits on the unique index until the first commits, then gets the answer a late one gets."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction

from orders.models import CarrierEvent, Shipment
from orders.services import TrackingError, record_carrier_event, record_shipment
from orders.tests.factories import OrderFactory, ShipmentFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL: two connections waiting on one unique index entry"),
    pytest.mark.django_db(transaction=True),
]
NOW = dt.datetime(2026, 3, 12, 9, 0, tzinfo=dt.UTC)
SHIPPED = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)


def race(first: Callable[[], Any], second: Callable[[], Any]) -> list[Any]:
    """`first` runs in a transaction kept open a moment after it wrote; `second` starts inside that moment.
    Returns what each returned or raised."""
    wrote, results = threading.Event(), [None, None]

    def run(index: int, function: Callable[[], Any]) -> None:
        try:
            with time_machine.travel(NOW, tick=False):
                if index == 0:
                    with transaction.atomic():
                        results[0] = function()
                        wrote.set()
                        time.sleep(0.5)
                else:
                    wrote.wait(5)
                    results[1] = function()
        except Exception as error:  # noqa: BLE001 - the loser's error is the result
            results[index] = error
        finally:
            wrote.set()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_two_sellers_registering_one_parcel_at_once():
    mine, theirs = OrderFactory(), OrderFactory()
    results = race(
        lambda: record_shipment(order=theirs, carrier="DHL", tracking_number="JJD1", shipped_at=SHIPPED),
        lambda: record_shipment(order=mine, carrier="dhl", tracking_number="jjd 1", shipped_at=SHIPPED))
    assert isinstance(results[0], Shipment) and results[0].order_id == theirs.pk
    assert isinstance(results[1], TrackingError) and "already registered for another order" in str(results[1])
    assert list(Shipment.objects.values_list("order_id", flat=True)) == [theirs.pk]


def test_one_seller_submitting_its_parcel_twice_at_once_keeps_one_shipment():
    order = OrderFactory()
    results = race(
        lambda: record_shipment(order=order, carrier="DHL", tracking_number="JJD1", shipped_at=SHIPPED),
        lambda: record_shipment(order=order, carrier="DHL", tracking_number="JJD1", shipped_at=SHIPPED))
    assert all(isinstance(result, Shipment) for result in results), results
    assert results[0].pk == results[1].pk and Shipment.objects.count() == 1


def test_one_carrier_event_delivered_twice_at_once_is_handled_once():
    shipment = ShipmentFactory(tracking_number="JJD1", seller_reported=True)

    def deliver() -> tuple[CarrierEvent, bool]:
        return record_carrier_event(event_id="evt_1", carrier="DHL", tracking_number="JJD1", status="delivered",
                                    occurred_at=NOW - dt.timedelta(hours=1), delivered_to_order_address=True)

    results = race(deliver, deliver)
    assert [handled for _event, handled in results] == [True, False], results
    assert list(CarrierEvent.objects.values_list("event_id", "result")) == [("evt_1", "applied")]
    shipment.refresh_from_db()
    assert shipment.confirmed_at == NOW and shipment.delivered_to_order_address
