"""The sales functions (service ``order``) and the job that cancels unpaid orders (service ``job``).

``cashier`` and ``manager`` sell (create, pay, cancel, return); they and ``warehouse`` ship;
everyone signed in reads orders.
"""
from __future__ import annotations

from ..jobs.api import JobRunOut
from ..operations import CONNECTOR, SIGNED_IN, operation
from ..schemas import Page
from . import services
from .schemas import (
    OrderCancelIn,
    OrderCreateIn,
    OrderListIn,
    OrderOut,
    OrderPayIn,
    OrderRefIn,
    OrderReturnIn,
    OrderShipIn,
    OrderSummaryOut,
)

SELLERS = ("admin", "manager", "cashier")
ORDER_PATH = "/{order}"

operation(
    "order-create", service="order", summary="Create an order: catalog prices, all lines reserved or none",
    input=OrderCreateIn, output=OrderOut, roles=SELLERS, status=201, idempotent=True,
)(services.create_order)
operation(
    "order-get", service="order", summary="One order by id or number", input=OrderRefIn, output=OrderOut,
    roles=SIGNED_IN, methods=("GET",), path=ORDER_PATH,
)(services.get_order)
operation(
    "order-list", service="order", summary="List orders by status, customer and dates", input=OrderListIn,
    output=Page[OrderSummaryOut], roles=SIGNED_IN, methods=("GET",),
)(services.list_orders)
operation(
    "order-pay", service="order", summary="Record the payment of the amount due", input=OrderPayIn,
    output=OrderOut, roles=SELLERS, idempotent=True, path=ORDER_PATH,
)(services.pay_order)
operation(
    "order-ship", service="order", summary="Ship a paid order, wholly or in part", input=OrderShipIn,
    output=OrderOut, roles=SELLERS + ("warehouse",), idempotent=True, path=ORDER_PATH,
)(services.ship_order)
operation(
    "order-cancel", service="order", summary="Cancel an order that has not shipped and release its stock",
    input=OrderCancelIn, output=OrderOut, roles=SELLERS, idempotent=True, path=ORDER_PATH,
)(services.cancel_order)
operation(
    "order-return", service="order", summary="Take back shipped goods into stock and record a refund",
    input=OrderReturnIn, output=OrderOut, roles=SELLERS, idempotent=True, path=ORDER_PATH,
)(services.return_order)
operation(
    "job-cancel-unpaid-orders", service="job", summary="Cancel orders left unpaid too long and release their stock",
    output=JobRunOut, roles=CONNECTOR, schedule="* * * * *", transactional=False,
)(services.cancel_unpaid_orders)
