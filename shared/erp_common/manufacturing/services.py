"""Manufacturing services: BOMs (versioned, multi-level, no cycles), work orders, the production plan
and the replenishment job.

A work order is made with one BOM version (the SKU's current one unless named) and keeps it.
Releasing it reserves every component in its warehouse (one stock document; 409
``insufficient_stock`` listing every short component). A completion, wholly or in part, posts in
one unit of work: the components' reservations released and issued (they go out at their average
cost), then the finished goods received at the rolled-up unit cost: the cost of the components
actually issued per unit, rounded to 4 places half up, plus the BOM's labour and overhead per
unit. Every line names the work order as its origin. Every change locks the work order row first.
Statuses move only through ``WORK_ORDER_WORKFLOW`` (manufacturing/workflow.py).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from decimal import ROUND_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import uow
from ..catalog.api import SkuInfo, find_skus, sku_codes, sku_ref
from ..context import Caller, Context
from ..db import ZERO
from ..errors import Conflict, ErpError, NotFound, ValidationFailed
from ..inventory import api as inventory
from ..jobs.api import JobRunOut, run_job
from ..paging import paginate, within
from ..purchasing import api as purchasing
from ..schemas import UNIT_PLACES, Page, format_quantity
from . import models as m
from .events import WorkOrderCancelled, WorkOrderCompleted, WorkOrderReleased
from .models import Bom, BomComponent, WorkOrder, WorkOrderCompletion, WorkOrderComponent
from .schemas import (
    BomCreateIn,
    BomListIn,
    BomOut,
    BomRefIn,
    BomSummaryOut,
    BomUpdateIn,
    CompletionOut,
    ComponentIn,
    PlanIn,
    PlanLine,
    PlannedPo,
    PlanOut,
    WoComponentOut,
    WorkOrderCancelIn,
    WorkOrderCompleteIn,
    WorkOrderCreateIn,
    WorkOrderListIn,
    WorkOrderOut,
    WorkOrderRefIn,
    WorkOrderSummaryOut,
)
from .workflow import WORK_ORDER_WORKFLOW

log = logging.getLogger(__name__)
DOC_TYPE = ORIGIN = "work_order"
HUNDRED = Decimal(100)
MAX_ID = 2_147_483_647


def need(quantity: Decimal, per_unit: Decimal, scrap_pct: Decimal) -> Decimal:
    """What making ``quantity`` uses of a component: with its scrap, rounded up to 4 places."""
    return (quantity * per_unit * (1 + scrap_pct / HUNDRED)).quantize(UNIT_PLACES, rounding=ROUND_UP)


def _sku(session: Session, ref: int | str, field: str) -> SkuInfo:
    try:
        return find_skus(session, [ref])[0]
    except ErpError as exc:
        raise exc.locate(lambda i: field) from None


def _filter_sku_id(session: Session, text: str) -> int:
    """The id of a SKU named in a list filter; 0 (matches nothing) when there is no such SKU."""
    ref = sku_ref(text)
    if isinstance(ref, int) and ref > MAX_ID:
        return 0
    try:
        return find_skus(session, [ref])[0].id
    except NotFound:
        return 0


# --- BOMs ------------------------------------------------------------------------------------

def _bom_out(bom: Bom) -> BomOut:
    return BomOut.model_validate(bom)


def _current_components(session: Session, sku_ids: set[int]) -> dict[int, list[tuple[int, Decimal, Decimal]]]:
    """The components (SKU, per unit, scrap %) of the current BOM of each of these SKUs that has one."""
    out: dict[int, list[tuple[int, Decimal, Decimal]]] = {}
    ids = sorted(sku_ids)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Bom.sku_id, BomComponent.sku_id.label("component"), BomComponent.qty_per_unit,
                   BomComponent.scrap_pct)
            .join(BomComponent, BomComponent.bom_id == Bom.id)
            .where(Bom.is_current.is_(True), Bom.sku_id.in_(ids[start:start + 500]))
            .order_by(Bom.sku_id, BomComponent.line_no))
        for row in rows:
            out.setdefault(row.sku_id, []).append((row.component, row.qty_per_unit, row.scrap_pct))
    return out


def _refuse_cycles(session: Session, finished: SkuInfo, components: list[BomComponent]) -> None:
    """422 naming the component and the path if making ``finished`` would need ``finished`` itself."""
    # Breadth first through the current BOMs, one query per level, remembering how each SKU was reached.
    came_from: dict[int, int | None] = {}
    start_of: dict[int, int] = {}
    frontier = set()
    for i, c in enumerate(components):
        if c.sku_id not in start_of:
            start_of[c.sku_id], came_from[c.sku_id] = i, None
            frontier.add(c.sku_id)
    while frontier and finished.id not in frontier:
        children = _current_components(session, frontier)
        nxt = set()
        for parent in sorted(frontier):
            for child, _, _ in children.get(parent, []):
                if child not in came_from:
                    came_from[child], start_of[child] = parent, start_of[parent]
                    nxt.add(child)
        frontier = nxt
    if finished.id not in came_from:
        return
    path = [finished.id]
    node: int | None = finished.id
    while node is not None:
        node = came_from[node]
        if node is not None:
            path.append(node)
    path.append(finished.id)
    path.reverse()
    codes = sku_codes(session, path)
    names = [codes.get(s, str(s)) for s in path]
    line = start_of[finished.id]
    raise ValidationFailed(f"components[{line}].sku: a cycle: {' -> '.join(names)}", code="bom_cycle",
                           details=[{"field": f"components[{line}].sku", "message": "makes a cycle", "path": names}])


def _components(session: Session, finished: SkuInfo, items: list[ComponentIn]) -> list[BomComponent]:
    try:
        skus = find_skus(session, [c.sku for c in items])
    except ErpError as exc:
        raise exc.locate(lambda i: f"components[{i}].sku") from None
    seen: dict[int, int] = {}
    out = []
    for i, (sku, item) in enumerate(zip(skus, items, strict=True)):
        if sku.id in seen:
            raise ValidationFailed.field(f"components[{i}].sku", f"this SKU is already on components[{seen[sku.id]}]")
        seen[sku.id] = i
        out.append(BomComponent(line_no=i + 1, sku_id=sku.id, sku_code=sku.code, qty_per_unit=item.qty_per_unit,
                                scrap_pct=item.scrap_pct))
    _refuse_cycles(session, finished, out)
    return out


def _new_version(ctx: Context, finished: SkuInfo, components: list[BomComponent], labour: Decimal,
                 overhead: Decimal, note: str) -> Bom:
    session = ctx.session
    previous = session.scalars(select(Bom).where(Bom.sku_id == finished.id).order_by(Bom.version.desc())
                               .limit(1).with_for_update()).first()
    for old in session.scalars(select(Bom).where(Bom.sku_id == finished.id, Bom.is_current.is_(True))):
        old.is_current = False
    bom = Bom(sku_id=finished.id, sku_code=finished.code, version=(previous.version + 1) if previous else 1,
              is_current=True, labour_cost=labour, overhead_cost=overhead, note=note, created_by=ctx.actor,
              created_at=ctx.now, components=components)
    session.add(bom)
    session.flush()
    return bom


def create_bom(ctx: Context, data: BomCreateIn) -> BomOut:
    """The first BOM of a finished SKU (409 if it has one: bom-update writes a new version)."""
    finished = _sku(ctx.session, data.sku, "sku")
    if ctx.session.scalar(select(Bom.id).where(Bom.sku_id == finished.id).limit(1)) is not None:
        raise Conflict(f"{finished.code} has a BOM already: update it", code="bom_exists",
                       details=[{"field": "sku", "message": "has a BOM already (bom-update makes a new version)"}])
    components = _components(ctx.session, finished, data.components)
    return _bom_out(_new_version(ctx, finished, components, data.labour_cost, data.overhead_cost, data.note))


def _load_bom(session: Session, bom_id: int, field: str = "bom") -> Bom:
    bom = session.get(Bom, bom_id)
    if bom is None:
        raise NotFound(f"BOM {bom_id} does not exist", details=[{"field": field, "message": "no such BOM"}])
    return bom


def get_bom(ctx: Context, data: BomRefIn) -> BomOut:
    """One BOM version with its components."""
    return _bom_out(_load_bom(ctx.session, data.bom))


def update_bom(ctx: Context, data: BomUpdateIn) -> BomOut:
    """A new current version of a SKU's BOM: the given BOM's fields, changed by those sent.

    Work orders made with an older version keep it.
    """
    session = ctx.session
    base = _load_bom(session, data.bom)
    finished = _sku(session, base.sku_id, "bom")
    if data.components is not None:
        components = _components(session, finished, data.components)
    else:
        components = [BomComponent(line_no=c.line_no, sku_id=c.sku_id, sku_code=c.sku_code,
                                   qty_per_unit=c.qty_per_unit, scrap_pct=c.scrap_pct) for c in base.components]
    labour = base.labour_cost if data.labour_cost is None else data.labour_cost
    overhead = base.overhead_cost if data.overhead_cost is None else data.overhead_cost
    note = base.note if data.note is None else data.note
    return _bom_out(_new_version(ctx, finished, components, labour, overhead, note))


def list_boms(ctx: Context, data: BomListIn) -> Page[BomSummaryOut]:
    """BOMs by finished SKU code: each SKU's current version, or every version."""
    query = select(Bom)
    if not data.all_versions:
        query = query.where(Bom.is_current.is_(True))
    if data.sku:
        query = query.where(Bom.sku_id == _filter_sku_id(ctx.session, data.sku))
    return paginate(ctx.session, query, data, BomSummaryOut.model_validate, Bom.sku_code, Bom.version.desc())


# --- work orders -----------------------------------------------------------------------------

def _wo_out(wo: WorkOrder) -> WorkOrderOut:
    return WorkOrderOut(
        id=wo.id, number=wo.number, sku_id=wo.sku_id, sku_code=wo.sku_code, bom_id=wo.bom_id,
        warehouse_id=wo.warehouse_id, quantity=wo.quantity, qty_done=wo.qty_done, status=wo.status,
        due_date=wo.due_date, created_by=wo.created_by, created_at=wo.created_at, note=wo.note,
        updated_at=wo.updated_at, released_at=wo.released_at, ended_at=wo.ended_at,
        allowed_actions=WORK_ORDER_WORKFLOW.allowed_actions(wo.status),
        components=[WoComponentOut.model_validate(c) for c in wo.components],
        completions=[CompletionOut(id=c.id, quantity=c.quantity, unit_cost=c.unit_cost,
                                   components=json.loads(c.components), created_by=c.created_by,
                                   created_at=c.created_at) for c in wo.completions])


def _load_wo(session: Session, ref: int | str, *, lock: bool = False, field: str = "wo") -> WorkOrder:
    """The work order with this id or number (``WO`` + date + id)."""
    wo_id: int | None = ref if isinstance(ref, int) else None
    if isinstance(ref, str):
        digits = ref[10:] if ref.startswith("WO") and len(ref) > 10 else ref
        wo_id = int(digits) if digits.isascii() and digits.isdigit() else None
    wo = None
    if wo_id is not None and wo_id <= MAX_ID:
        query = select(WorkOrder).where(WorkOrder.id == wo_id)
        wo = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if wo is not None and isinstance(ref, str) and ref.startswith("WO") and wo.number != ref:
        wo = None
    if wo is None:
        raise NotFound(f"work order {ref} does not exist", details=[{"field": field, "message": "no such work order"}])
    return wo


def create_work_order(ctx: Context, data: WorkOrderCreateIn) -> WorkOrderOut:
    """A draft work order to make a quantity of a SKU with a BOM version (default: its current one)."""
    session = ctx.session
    sku = _sku(session, data.sku, "sku")
    if data.bom_id is not None:
        bom = _load_bom(session, data.bom_id, "bom_id")
        if bom.sku_id != sku.id:
            raise ValidationFailed.field("bom_id", f"BOM {bom.id} makes {bom.sku_code}, not {sku.code}")
    else:
        bom = session.scalars(select(Bom).where(Bom.sku_id == sku.id, Bom.is_current.is_(True))).first()
        if bom is None:
            raise Conflict(f"{sku.code} has no BOM", code="no_bom", details=[{"field": "sku", "message": "no BOM"}])
    warehouse_id = inventory.resolve_warehouse(session, data.warehouse_id)
    wo = WorkOrder(sku_id=sku.id, sku_code=sku.code, bom_id=bom.id, warehouse_id=warehouse_id, quantity=data.quantity,
                   qty_done=ZERO, status=m.DRAFT, due_date=data.due_date, note=data.note, created_by=ctx.actor,
                   created_at=ctx.now, updated_at=ctx.now, components=[
                       WorkOrderComponent(line_no=c.line_no, sku_id=c.sku_id, sku_code=c.sku_code,
                                          qty_required=need(data.quantity, c.qty_per_unit, c.scrap_pct),
                                          qty_reserved=ZERO, qty_issued=ZERO) for c in bom.components])
    session.add(wo)
    session.flush()
    return _wo_out(wo)


def get_work_order(ctx: Context, data: WorkOrderRefIn) -> WorkOrderOut:
    """One work order by id or number, with its components and completions."""
    return _wo_out(_load_wo(ctx.session, data.wo))


def list_work_orders(ctx: Context, data: WorkOrderListIn) -> Page[WorkOrderSummaryOut]:
    """Work orders, newest first, by status, SKU made and creation dates."""
    query = select(WorkOrder)
    if data.status:
        query = query.where(WorkOrder.status == data.status)
    if data.sku:
        query = query.where(WorkOrder.sku_id == _filter_sku_id(ctx.session, data.sku))
    query = within(query, WorkOrder.created_at, data.date_from, data.date_to)
    return paginate(ctx.session, query, data, WorkOrderSummaryOut.model_validate, WorkOrder.id.desc())


def _post(ctx: Context, wo: WorkOrder, lines: list[tuple[int, str, str, Decimal, Decimal | None]],
          field_of: Callable[[int], str]) -> inventory.Posting:
    """Post one stock document of the work order: (sku_id, sku_code, kind, quantity, unit_cost) lines."""
    doc = inventory.StockDocument(DOC_TYPE, wo.number, [
        inventory.StockLine(sku_id, wo.warehouse_id, kind, qty, sku_code=code, origin_type=ORIGIN,
                            origin_id=str(wo.id), unit_cost=cost)
        for sku_id, code, kind, qty, cost in lines])
    try:
        return inventory.post_stock(ctx, doc)
    except ErpError as exc:
        raise exc.locate(field_of) from None


def _move(ctx: Context, wo: WorkOrder, action: str, to: str | None = None) -> None:
    WORK_ORDER_WORKFLOW.apply(wo, action, to, label=wo.number)
    wo.updated_at = ctx.now


def release_work_order(ctx: Context, data: WorkOrderRefIn) -> WorkOrderOut:
    """Reserve every component in the work order's warehouse, or none (409 listing every shortage)."""
    wo = _load_wo(ctx.session, data.wo, lock=True)
    WORK_ORDER_WORKFLOW.check(wo.status, "release", label=wo.number)
    wanted = [c for c in wo.components if c.qty_required > 0]
    _post(ctx, wo, [(c.sku_id, c.sku_code, inventory.RESERVE, c.qty_required, None) for c in wanted],
          lambda i: f"components[{wanted[i].line_no - 1}]")
    for c in wanted:
        c.qty_reserved = c.qty_required
    wo.released_at = ctx.now
    _move(ctx, wo, "release")
    ctx.session.flush()
    ctx.emit(WorkOrderReleased(wo_id=wo.id, number=wo.number, sku_id=wo.sku_id, sku_code=wo.sku_code,
                               quantity=wo.quantity, bom_id=wo.bom_id, by=ctx.actor))
    return _wo_out(wo)


def complete_work_order(ctx: Context, data: WorkOrderCompleteIn) -> WorkOrderOut:
    """Make ``qty`` (default: all that is left) in one unit of work: issue its share of the reserved
    components, then receive the goods at the components' cost per unit plus labour and overhead."""
    session = ctx.session
    wo = _load_wo(session, data.wo, lock=True)
    WORK_ORDER_WORKFLOW.check(wo.status, "complete", label=wo.number)
    left = wo.quantity - wo.qty_done
    qty = data.qty if data.qty is not None else left
    if qty > left:
        raise Conflict(f"{wo.number}: {format_quantity(qty)} is more than is left to make ({format_quantity(left)})",
                       code="quantity_exceeded", details=[{"field": "qty", "requested": format_quantity(qty),
                                                           "allowed": format_quantity(left)}])
    last = qty == left
    # The last completion uses up what is reserved; a partial one its share, rounded up.
    used = [(c, c.qty_reserved if last else min(c.qty_reserved, (c.qty_required * qty / wo.quantity)
                                                 .quantize(UNIT_PLACES, rounding=ROUND_UP)))
            for c in wo.components]
    used = [(c, q) for c, q in used if q > 0]
    posting = _post(ctx, wo, [line for c, q in used for line in (
        (c.sku_id, c.sku_code, inventory.RELEASE, q, None), (c.sku_id, c.sku_code, inventory.ISSUE, q, None))],
        lambda i: f"components[{used[i // 2][0].line_no - 1}]")
    issued = [p for p in posting.lines if p.kind == inventory.ISSUE]
    components_cost = sum((-p.qty_on_hand * (p.unit_cost or ZERO) for p in issued), ZERO)
    bom = session.get(Bom, wo.bom_id)
    unit_cost = inventory.round_unit_cost(components_cost / qty) + bom.labour_cost + bom.overhead_cost
    _post(ctx, wo, [(wo.sku_id, wo.sku_code, inventory.RECEIPT, qty, unit_cost)], lambda i: "qty")
    for c, q in used:
        c.qty_reserved -= q
        c.qty_issued += q
    wo.completions.append(WorkOrderCompletion(
        quantity=qty, unit_cost=unit_cost, created_by=ctx.actor, created_at=ctx.now,
        components=json.dumps([{"sku_id": p.sku_id, "sku_code": p.sku_code, "qty": format_quantity(-p.qty_on_hand),
                                "unit_cost": None if p.unit_cost is None else str(p.unit_cost)} for p in issued])))
    wo.qty_done += qty
    done = wo.qty_done >= wo.quantity
    if done:
        wo.ended_at = ctx.now
    _move(ctx, wo, "complete", m.DONE if done else m.IN_PROGRESS)
    session.flush()
    ctx.emit(WorkOrderCompleted(wo_id=wo.id, number=wo.number, sku_id=wo.sku_id, sku_code=wo.sku_code,
                                quantity=qty, unit_cost=unit_cost, status=wo.status, by=ctx.actor))
    return _wo_out(wo)


def cancel_work_order(ctx: Context, data: WorkOrderCancelIn) -> WorkOrderOut:
    """Cancel a work order not done: what is still reserved is released; what was made stays made."""
    wo = _load_wo(ctx.session, data.wo, lock=True)
    WORK_ORDER_WORKFLOW.check(wo.status, "cancel", label=wo.number)
    held = [c for c in wo.components if c.qty_reserved > 0]
    if held:
        _post(ctx, wo, [(c.sku_id, c.sku_code, inventory.RELEASE, c.qty_reserved, None) for c in held],
              lambda i: f"components[{held[i].line_no - 1}]")
    for c in held:
        c.qty_reserved = ZERO
    wo.ended_at = ctx.now
    _move(ctx, wo, "cancel")
    ctx.session.flush()
    ctx.emit(WorkOrderCancelled(wo_id=wo.id, number=wo.number, reason=data.reason, by=ctx.actor))
    return _wo_out(wo)


# --- the production plan ---------------------------------------------------------------------

def explode(session: Session, roots: dict[int, tuple[int, Decimal, dt.date]], warehouse_id: int) -> list[PlanLine]:
    """MRP explosion: ``roots`` are {sku_id: (level, gross quantity, date needed)}.

    The BOM graph below the roots is read level by level (one query each); each SKU is planned at
    its lowest level (its deepest place in any BOM), once all its parents' needs are known; its net
    need (required - available - on open POs) is exploded into its components when it has a BOM.
    """
    graph: dict[int, list[tuple[int, Decimal, Decimal]]] = {}
    frontier, seen = set(roots), set(roots)
    while frontier:
        found = _current_components(session, frontier)
        graph.update(found)
        frontier = {c for parts in found.values() for c, _, _ in parts} - seen
        seen |= frontier
    level = {s: lvl for s, (lvl, _, _) in roots.items()}
    stack = list(roots)
    while stack:  # the longest path to each SKU: a DAG (cycles are refused when BOMs are written)
        sku = stack.pop()
        for child, _, _ in graph.get(sku, []):
            if level.get(child, -1) < level[sku] + 1:
                level[child] = level[sku] + 1
                stack.append(child)
    available = inventory.available_stock(session, sorted(seen), warehouse_id)
    on_order = purchasing.open_quantities(session, sorted(seen), warehouse_id)
    gross: dict[int, Decimal] = {s: q for s, (_, q, _) in roots.items()}
    needed: dict[int, dt.date] = {s: d for s, (_, _, d) in roots.items()}
    codes = sku_codes(session, seen)
    lines = []
    for sku in sorted(level, key=lambda s: (level[s], codes.get(s, ""))):
        if sku not in gross:
            continue  # below a SKU whose need was covered
        have, coming = max(available.get(sku, ZERO), ZERO), on_order.get(sku, ZERO)
        net = max(gross[sku] - have - coming, ZERO)
        lines.append(PlanLine(sku_id=sku, sku_code=codes.get(sku, ""), level=level[sku],
                              action="make" if sku in graph else "buy", required=gross[sku], available=have,
                              on_order=coming, shortage=net, needed_by=needed[sku]))
        if net > 0:
            for child, per_unit, scrap in graph.get(sku, []):
                gross[child] = gross.get(child, ZERO) + need(net, per_unit, scrap)
                needed[child] = min(needed.get(child, needed[sku]), needed[sku])
    return lines


def plan_production(ctx: Context, data: PlanIn) -> PlanOut:
    """Explode the BOMs of draft work orders (their components) and of a demand list (the goods, netted
    against their own stock first), net against available stock and open POs, and list the shortages
    with the date needed; with ``create_pos`` make one draft PO per preferred supplier."""
    session = ctx.session
    warehouse_id = inventory.resolve_warehouse(session, data.warehouse_id)
    roots: dict[int, tuple[int, Decimal, dt.date]] = {}

    def add(sku_id: int, lvl: int, qty: Decimal, when: dt.date) -> None:
        old = roots.get(sku_id)
        roots[sku_id] = (min(lvl, old[0]), old[1] + qty, min(when, old[2])) if old else (lvl, qty, when)

    today = ctx.now.date()
    for i, ref in enumerate(data.work_orders):
        wo = _load_wo(session, ref, field=f"work_orders[{i}]")
        if wo.status != m.DRAFT:
            raise Conflict(f"{wo.number} is {wo.status}: its components are reserved or used already",
                           code="not_a_draft", details=[{"field": f"work_orders[{i}]", "status": wo.status}])
        for c in wo.components:
            add(c.sku_id, 1, c.qty_required, wo.due_date or today)
    if data.demand:
        try:
            skus = find_skus(session, [d.sku for d in data.demand])
        except ErpError as exc:
            raise exc.locate(lambda i: f"demand[{i}].sku") from None
        for sku, d in zip(skus, data.demand, strict=True):
            add(sku.id, 0, d.qty, d.date)
    lines = explode(session, roots, warehouse_id)
    short = [ln for ln in lines if ln.action == "buy" and ln.shortage > 0]
    suppliers = purchasing.preferred_suppliers(session, [ln.sku_id for ln in short])
    shortages, without = [], []
    for ln in short:
        supplier = suppliers.get(ln.sku_id)
        if supplier is None:
            without.append(ln)
        else:
            ln.supplier_id = supplier.supplier_id
            ln.order_by = ln.needed_by - dt.timedelta(days=supplier.lead_time_days)
        shortages.append(ln)
    pos = []
    if data.create_pos:
        pos = _draft_pos(ctx, warehouse_id, [(ln.sku_id, ln.shortage, ln.needed_by) for ln in shortages
                                             if ln.supplier_id is not None], suppliers, "production plan")
    return PlanOut(warehouse_id=warehouse_id, lines=lines, shortages=shortages, without_supplier=without,
                   purchase_orders=pos)


def _draft_pos(ctx: Context, warehouse_id: int, wanted: list[tuple[int, Decimal, dt.date | None]],
               suppliers: dict[int, purchasing.PreferredSupplier], note: str) -> list[PlannedPo]:
    """One draft PO per preferred supplier for (SKU, quantity, date needed), at the last price paid (or 0)."""
    by_supplier: dict[int, list[purchasing.DraftLine]] = {}
    for sku_id, qty, when in wanted:
        supplier = suppliers[sku_id]
        expected = dt.datetime.combine(when, dt.time(), dt.timezone.utc) if when else None
        by_supplier.setdefault(supplier.supplier_id, []).append(
            purchasing.DraftLine(sku_id, qty, supplier.last_price or ZERO, expected))
    out = []
    for supplier_id, lines in sorted(by_supplier.items()):
        po = purchasing.create_draft_po(ctx, supplier_id, warehouse_id, lines, note)
        out.append(PlannedPo(po_id=po.id, number=po.number, supplier_id=supplier_id, lines=len(po.lines),
                             total_amount=po.total_amount))
    return out


# --- the replenishment job -------------------------------------------------------------------

def replenish(caller: Caller) -> JobRunOut:
    """Draft POs for SKUs at or below their low-stock threshold, per warehouse and preferred supplier.

    Each SKU x warehouse is brought back to twice its threshold, counting what open POs (drafts
    included) still bring, so a second run orders nothing more. A SKU without a preferred supplier
    is listed as a suggestion. Each PO is made in a unit of work of its own; the run log keeps it all.
    """
    def due(ctx: Context) -> tuple[list[tuple[int, int, Decimal]], list[dict[str, Any]],
                                   dict[int, purchasing.PreferredSupplier]]:
        lows = inventory.low_stock(ctx.session)
        sku_ids = sorted({low.sku_id for low in lows})
        suppliers = purchasing.preferred_suppliers(ctx.session, sku_ids)
        codes = sku_codes(ctx.session, sku_ids)
        orders, suggestions = [], []
        for warehouse_id in sorted({low.warehouse_id for low in lows}):
            here = [low for low in lows if low.warehouse_id == warehouse_id]
            coming = purchasing.open_quantities(ctx.session, [low.sku_id for low in here], warehouse_id)
            for low in here:
                qty = 2 * low.threshold - low.available - coming.get(low.sku_id, ZERO)
                if qty <= 0:
                    continue
                if low.sku_id in suppliers:
                    orders.append((warehouse_id, low.sku_id, qty))
                else:
                    suggestions.append({"sku_id": low.sku_id, "sku_code": codes.get(low.sku_id, ""),
                                        "warehouse_id": warehouse_id, "qty": format_quantity(qty)})
        return orders, suggestions, suppliers

    def order(warehouse_id: int, wanted: list, suppliers: dict) -> Callable[[Context], list[PlannedPo]]:
        return lambda ctx: _draft_pos(ctx, warehouse_id, wanted, suppliers, "replenishment")

    def work() -> dict[str, Any]:
        orders, suggestions, suppliers = uow.run(due, caller, readonly=True)
        made, errors = [], []
        for warehouse_id in sorted({w for w, _, _ in orders}):
            wanted = [(s, q, None) for w, s, q in orders if w == warehouse_id]
            for supplier_id in sorted({suppliers[s].supplier_id for s, _, _ in wanted}):
                mine = [x for x in wanted if suppliers[x[0]].supplier_id == supplier_id]
                try:
                    made += uow.run(order(warehouse_id, mine, suppliers), caller)
                except Exception as exc:  # keep going: the next run tries again
                    log.exception("%s: could not order from supplier %s", caller.operation, supplier_id)
                    errors.append({"supplier_id": supplier_id, "error": f"{exc.__class__.__name__}: {exc}"[:500]})
        return {"processed": len(made), "purchase_orders": [p.model_dump(mode="json") for p in made][:200],
                "suggestions": suggestions[:500], "errors": errors[:100]}

    return run_job(caller, work)
