"""Costing services: a SKU's cost, the stock's valuation now or at a past date, the gross margin.

Everything is read from the inventory's ledger and costs (``inventory.api``), the sales lines'
prices (``sales.api``) and the catalog's categories (``catalog.api``); costing writes nothing.

Rounding (one rule, tested in tests/unit/test_costing.py):
* unit costs keep 4 places, half up (the ledger rounds the moving average so);
* every amount is rounded to the cent, half up, where it arises: a row's value is
  ``round_amount(on_hand * unit_cost)``; a shipped or returned row's revenue is
  ``round_amount(qty * unit_price)`` and its COGS ``round_amount(qty * unit_cost)``; totals (per
  SKU, category, warehouse) are sums of those rounded amounts, so they add up exactly;
* a margin % is ``gross_margin / revenue * 100`` to 2 places, half up.
A return is a negative shipment: it takes back the revenue at its line's price and the COGS at
the unit cost its sale went out at (the ledger gives a return with an origin that cost).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ..catalog.api import SkuCategory, find_skus, sku_categories, sku_ref
from ..context import Context
from ..csv_files import csv_file
from ..db import ZERO
from ..errors import ErpError
from ..inventory import api as inventory
from ..operations import FileResult
from ..sales import api as sales
from ..schemas import format_money, format_quantity, round_amount
from .schemas import (
    CostChangeOut,
    CostSkuIn,
    CostSkuOut,
    MarginCategoryRow,
    MarginIn,
    MarginOut,
    MarginSkuRow,
    ValuationIn,
    ValuationOut,
    ValuationRow,
    ValueTotal,
)

PERCENT = Decimal("0.01")


def round_percent(value: Decimal) -> Decimal:
    """A percentage to 2 places, half up."""
    return value.quantize(PERCENT, rounding=ROUND_HALF_UP)


def _csv(columns: list[str], rows: Iterable[list], name: str) -> FileResult:
    return csv_file(columns, rows, name)


def _money(value: Decimal | None) -> str:
    return "" if value is None else format_money(value)


# --- cost-sku --------------------------------------------------------------------------------

def get_sku_cost(ctx: Context, data: CostSkuIn) -> CostSkuOut:
    """A SKU's moving average unit cost now, the quantity it is over, and the latest changes of it."""
    ref = sku_ref(data.sku) if isinstance(data.sku, str) else data.sku
    try:
        sku = find_skus(ctx.session, [ref])[0]
    except ErpError as exc:
        raise exc.locate(lambda i: "sku") from None
    now = inventory.current_cost(ctx.session, sku.id)
    history = inventory.cost_history(ctx.session, sku.id, data.history) if data.history else []
    return CostSkuOut(
        sku_id=sku.id, sku_code=sku.code, unit_cost=now.unit_cost if now else None,
        on_hand=now.on_hand if now else ZERO, value=round_amount(now.on_hand * now.unit_cost) if now else None,
        updated_at=now.updated_at if now else None,
        history=[CostChangeOut.model_validate(h) for h in history])


# --- cost-valuation --------------------------------------------------------------------------

def _totals(values: dict[int, Decimal], names: dict[int, str]) -> list[ValueTotal]:
    return [ValueTotal(key=k, name=names.get(k, ""), value=v) for k, v in sorted(values.items())]


def valuation(ctx: Context, data: ValuationIn) -> ValuationOut | FileResult:
    """The stock's value (on hand x average unit cost) per SKU and warehouse, with totals per warehouse and
    category, now or as it was at ``as_of`` (from the ledger and the history of the averages)."""
    as_of = data.as_of or ctx.now
    values = inventory.stock_values(ctx.session, data.as_of, data.warehouse_id)
    skus = sku_categories(ctx.session, [v.sku_id for v in values])
    rows: list[ValuationRow] = []
    by_warehouse: dict[int, Decimal] = {}
    by_category: dict[int, Decimal] = {}
    categories: dict[int, str] = {}
    uncosted = 0
    for v in values:
        sku = skus[v.sku_id]
        if data.category_id is not None and sku.category_id != data.category_id:
            continue
        value = round_amount(v.on_hand * v.unit_cost) if v.unit_cost is not None else None
        rows.append(ValuationRow(sku_id=v.sku_id, sku_code=sku.code, category_id=sku.category_id,
                                 category=sku.category, warehouse_id=v.warehouse_id, on_hand=v.on_hand,
                                 unit_cost=v.unit_cost, value=value))
        if value is None:
            uncosted += 1
            continue
        by_warehouse[v.warehouse_id] = by_warehouse.get(v.warehouse_id, ZERO) + value
        by_category[sku.category_id] = by_category.get(sku.category_id, ZERO) + value
        categories[sku.category_id] = sku.category
    if data.format == "csv":
        return _csv(["sku_id", "sku_code", "category_id", "category", "warehouse_id", "on_hand", "unit_cost", "value"],
                    ([r.sku_id, r.sku_code, r.category_id, r.category, r.warehouse_id, format_quantity(r.on_hand),
                      _money(r.unit_cost), _money(r.value)] for r in rows), "valuation")
    warehouses = inventory.warehouse_codes(ctx.session)
    return ValuationOut(as_of=as_of, rows=rows, by_warehouse=_totals(by_warehouse, warehouses),
                        by_category=_totals(by_category, categories), total_value=sum(by_warehouse.values(), ZERO),
                        uncosted_rows=uncosted)


# --- cost-margin -----------------------------------------------------------------------------

@dataclass
class _Figures:
    qty: Decimal = ZERO
    revenue: Decimal = ZERO
    cogs: Decimal = ZERO

    def add(self, other: _Figures) -> None:
        self.qty += other.qty
        self.revenue += other.revenue
        self.cogs += other.cogs

    def out(self) -> dict:
        margin = self.revenue - self.cogs
        pct = round_percent(margin / self.revenue * 100) if self.revenue else None
        return {"qty_sold": self.qty, "revenue": self.revenue, "cogs": self.cogs, "gross_margin": margin,
                "margin_pct": pct}


def margin(ctx: Context, data: MarginIn) -> MarginOut | FileResult:
    """Revenue, cost of goods sold and gross margin per SKU and category, for goods shipped (less goods
    returned) in the period: COGS at the unit cost each shipment went out at, reversed by returns."""
    moves = inventory.goods_moves(ctx.session, (inventory.SALE, inventory.RETURN), data.date_from, data.date_to,
                                  origin_type=sales.LINE_ORIGIN)
    prices = sales.line_prices(ctx.session, [m.origin_id for m in moves if m.origin_id])
    skus: dict[int, SkuCategory] = sku_categories(ctx.session, {m.sku_id for m in moves})
    per_sku: dict[int, _Figures] = {}
    for move in moves:
        sku = skus[move.sku_id]
        if data.category_id is not None and sku.category_id != data.category_id:
            continue
        qty = -move.qty_on_hand  # a shipment takes stock out (+ sold), a return brings it back (- sold)
        figures = per_sku.setdefault(move.sku_id, _Figures())
        figures.qty += qty
        figures.revenue += round_amount(qty * prices.get(move.origin_id, ZERO))
        figures.cogs += round_amount(qty * (move.unit_cost or ZERO))
    per_category: dict[int, _Figures] = {}
    total = _Figures()
    for sku_id, figures in per_sku.items():
        per_category.setdefault(skus[sku_id].category_id, _Figures()).add(figures)
        total.add(figures)
    sku_rows = [MarginSkuRow(sku_id=s, sku_code=skus[s].code, category_id=skus[s].category_id,
                             category=skus[s].category, **f.out()) for s, f in sorted(per_sku.items())]
    names = {s.category_id: s.category for s in skus.values()}
    if data.format == "csv":
        return _csv(["sku_id", "sku_code", "category_id", "category", "qty_sold", "revenue", "cogs", "gross_margin",
                     "margin_pct"],
                    ([r.sku_id, r.sku_code, r.category_id, r.category, format_quantity(r.qty_sold),
                      format_money(r.revenue), format_money(r.cogs), format_money(r.gross_margin),
                      _money(r.margin_pct)] for r in sku_rows), "margin")
    return MarginOut(date_from=data.date_from, date_to=data.date_to, skus=sku_rows,
                     categories=[MarginCategoryRow(category_id=c, category=names[c], **f.out())
                                 for c, f in sorted(per_category.items())], **total.out())
