"""Catalog services: the category tree, items and their SKUs, prices and price history, look-ups.

Rules kept here:
- A category's ``path`` is the ids from the root (``/1/4/9/``); moving a category rewrites the
  paths of its whole subtree, and a category cannot move under itself or a descendant.
- An item's ``sku_specs`` give one SKU per combination (``specs.combinations``); no specs give
  exactly one SKU. SKU codes are unique: given by the client, or generated as
  ``SKU-<item id, 6 digits>-<n, 2 digits>``; codes of that shape are reserved for generation.
- A SKU follows its item's price unless it was given a price of its own
  (``price_overridden``). Every price change, of an item or of a SKU, writes a ``PriceChange``
  row (who and when) and emits ``item.price_changed``.
- ``item-get`` and ``sku-get`` are cached (``catalog:item:<id>``, ``catalog:sku:id|code|barcode:<v>``);
  every write that touches an item drops the keys of the item and all its SKUs after commit.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..context import Context
from ..db import code_key
from ..errors import Conflict, NotFound, ValidationFailed
from ..paging import paginate
from ..schemas import Page
from . import specs as spec_rules
from .events import ItemCreated, ItemPriceChanged, ItemUpdated, PriceChangeLine, SkuPrice
from .models import Category, Item, PriceChange, Sku
from .schemas import (
    CategoryCreateIn,
    CategoryListIn,
    CategoryNode,
    CategoryOut,
    CategoryRef,
    CategoryTreeOut,
    CategoryUpdateIn,
    ItemCreateIn,
    ItemIdIn,
    ItemListIn,
    ItemOut,
    ItemPriceHistoryIn,
    ItemSummaryOut,
    ItemUpdateIn,
    PriceChangeOut,
    SkuDetailOut,
    SkuGetIn,
    SkuItemRef,
    SkuOut,
)

CACHE_TTL = 300
MAX_DEPTH = 8
GENERATED_CODE = re.compile(r"^SKU-\d+-\d+$")


# --- categories ----------------------------------------------------------------------

def _category(session: Session, category_id: int, field: str = "category_id") -> Category:
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound(
            f"category {category_id} does not exist",
            code="category_not_found",
            details=[{"field": field, "message": "no such category"}],
        )
    return category


def _check_sibling_name(session: Session, parent_id: int | None, name: str, exclude: int | None = None) -> None:
    siblings = select(Category.name).where(Category.parent_id.is_(None) if parent_id is None
                                           else Category.parent_id == parent_id)
    if exclude is not None:
        siblings = siblings.where(Category.id != exclude)
    # The database's comparison first (case-insensitive: NOCASE, or MariaDB's collation, which also
    # equates accents); then case in every script, which SQLite's NOCASE leaves out (Ä and ä).
    taken = session.scalar(siblings.where(Category.name == name).limit(1)) is not None or \
        name.casefold() in {n.casefold() for n in session.scalars(siblings)}
    if taken:
        raise Conflict(
            f"a category named {name!r} exists at this place in the tree",
            code="category_name_taken",
            details=[{"field": "name", "message": "already taken under this parent"}],
        )


def create_category(ctx: Context, data: CategoryCreateIn) -> CategoryOut:
    """Create a category, at the top level or under ``parent_id``."""
    parent = _category(ctx.session, data.parent_id, "parent_id") if data.parent_id is not None else None
    if parent is not None and parent.level >= MAX_DEPTH:
        raise ValidationFailed.field("parent_id", f"categories nest at most {MAX_DEPTH} levels deep")
    _check_sibling_name(ctx.session, data.parent_id, data.name)
    category = Category(name=data.name, parent_id=data.parent_id, path="/", level=1 if parent is None else
                        parent.level + 1, sort_order=data.sort_order, created_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(category)
    ctx.session.flush()
    category.path = f"{parent.path if parent else '/'}{category.id}/"
    ctx.session.flush()
    return CategoryOut.model_validate(category)


def list_categories(ctx: Context, data: CategoryListIn) -> CategoryTreeOut:
    """The category tree: each category with its children, siblings by sort order then name."""
    query = select(Category).order_by(Category.level, Category.sort_order, Category.name, Category.id)
    if data.root_id is not None:
        root = _category(ctx.session, data.root_id, "root_id")
        query = query.where(Category.path.startswith(root.path))
    rows = ctx.session.scalars(query).all()
    nodes = {c.id: CategoryNode.model_validate(c) for c in rows}
    roots: list[CategoryNode] = []
    for category in rows:
        node = nodes[category.id]
        parent = nodes.get(category.parent_id) if category.parent_id is not None else None
        if parent is not None and category.id != data.root_id:
            parent.children.append(node)
        else:
            roots.append(node)
    return CategoryTreeOut(items=roots, total=len(rows))


def update_category(ctx: Context, data: CategoryUpdateIn) -> CategoryOut:
    """Rename a category, change its sort order, or move it (with its subtree) under another parent.

    ``"parent_id": null`` moves it to the top level. Moving it under itself or one of its
    descendants is refused (409).
    """
    session = ctx.session
    category = _category(session, data.category_id)
    changes = data.model_fields_set - {"category_id"}
    parent_id = data.parent_id if "parent_id" in changes else category.parent_id
    name = data.name if data.name is not None else category.name
    seen_by_items = name != category.name or parent_id != category.parent_id  # items embed name and path
    if name != category.name or parent_id != category.parent_id:
        _check_sibling_name(session, parent_id, name, exclude=category.id)
    if parent_id != category.parent_id:
        parent = _category(session, parent_id, "parent_id") if parent_id is not None else None
        if parent is not None and parent.path.startswith(category.path):
            raise Conflict("a category cannot move under itself or one of its sub-categories",
                           code="category_cycle", details=[{"field": "parent_id", "message": "inside this category"}])
        old_path, new_path = category.path, f"{parent.path if parent else '/'}{category.id}/"
        shift = (parent.level + 1 if parent else 1) - category.level
        subtree = session.scalars(select(Category).where(Category.path.startswith(old_path))).all()
        if max(c.level for c in subtree) + shift > MAX_DEPTH:
            raise ValidationFailed.field("parent_id", f"categories nest at most {MAX_DEPTH} levels deep")
        for node in subtree:
            node.path = new_path + node.path[len(old_path):]
            node.level += shift
            node.updated_at = ctx.now
        category.parent_id = parent_id
    category.name = name
    if data.sort_order is not None:
        category.sort_order = data.sort_order
    category.updated_at = ctx.now
    session.flush()
    if seen_by_items:  # cached items embed their category: drop the ones of this subtree
        item_ids = session.scalars(select(Item.id).join(Category, Item.category_id == Category.id)
                                   .where(Category.path.startswith(category.path))).all()
        _invalidate_items(ctx, list(item_ids))
    return CategoryOut.model_validate(category)


def subtree_ids(session: Session, category_id: int, field: str = "category_id"):
    """A subquery of the ids of a category and every category under it."""
    root = _category(session, category_id, field)
    return select(Category.id).where(Category.path.startswith(root.path)).scalar_subquery()


# --- caching -------------------------------------------------------------------------

def item_key(item_id: int) -> str:
    return f"catalog:item:{item_id}"


def sku_keys(sku) -> list[str]:
    """The cache keys of a SKU (a Sku or a row with id, code and barcode)."""
    keys = [f"catalog:sku:id:{sku.id}", f"catalog:sku:code:{sku.code}"]
    if sku.barcode:
        keys.append(f"catalog:sku:barcode:{sku.barcode}")
    return keys


def item_keys(item: Item) -> list[str]:
    keys = [item_key(item.id)]
    for sku in item.skus:
        keys.extend(sku_keys(sku))
    return keys


def drop_after_commit(ctx: Context, keys: Iterable[str]) -> None:
    keys = list(dict.fromkeys(keys))
    if keys:
        cache = ctx.cache
        ctx.on_commit(lambda: [cache.delete(*keys[i:i + 500]) for i in range(0, len(keys), 500)])


def _invalidate_items(ctx: Context, item_ids: list[int]) -> None:
    keys = [item_key(i) for i in item_ids]
    for start in range(0, len(item_ids), 1000):
        rows = ctx.session.execute(select(Sku.id, Sku.code, Sku.barcode)
                                   .where(Sku.item_id.in_(item_ids[start:start + 1000]))).all()
        keys.extend(key for row in rows for key in sku_keys(row))
    drop_after_commit(ctx, keys)


def _cached(ctx: Context, key: str, model):
    text = ctx.cache.get(key)
    return model.model_validate_json(text) if text else None


def _store(ctx: Context, key: str, value) -> None:
    ctx.cache.set(key, value.model_dump_json(), CACHE_TTL)


# --- building outputs -------------------------------------------------------------------

def sku_out(sku: Sku) -> SkuOut:
    return SkuOut(id=sku.id, item_id=sku.item_id, code=sku.code, barcode=sku.barcode, specs=json.loads(sku.specs),
                  price=sku.price, price_overridden=sku.price_overridden, status=sku.status,
                  created_at=sku.created_at, updated_at=sku.updated_at)


def item_out(item: Item) -> ItemOut:
    names = json.loads(item.spec_names)
    skus = [sku_out(s) for s in item.skus]
    category = item.category
    return ItemOut(
        id=item.id, name=item.name, category_id=item.category_id,
        category=CategoryRef(id=category.id, name=category.name, path=category.path),
        description=item.description, unit=item.unit, brand=item.brand, barcode=item.barcode, price=item.price,
        status=item.status, sku_specs=spec_rules.specs_from_skus(names, [s.specs for s in skus]), skus=skus,
        created_by=item.created_by, created_at=item.created_at, updated_at=item.updated_at,
    )


# --- creating items ------------------------------------------------------------------------

@dataclass
class SkuDraft:
    """One SKU to create: its specs and what the client said about it."""

    specs: dict[str, str]
    key: str
    code: str | None = None
    price: Decimal | None = None
    barcode: str | None = None
    field: str = "skus"


def taken(session: Session, codes: Iterable[str], barcodes: Iterable[str]) -> tuple[set[str], set[str]]:
    """Which of these SKU codes and barcodes exist already, as ``code_key``s (case does not count)."""
    codes, barcodes = list(set(codes)), list(set(barcodes))
    taken_codes: set[str] = set()
    taken_barcodes: set[str] = set()
    for i in range(0, len(codes), 1000):
        taken_codes.update(map(code_key, session.scalars(select(Sku.code).where(Sku.code.in_(codes[i:i + 1000])))))
    for i in range(0, len(barcodes), 1000):
        taken_barcodes.update(map(code_key, session.scalars(
            select(Sku.barcode).where(Sku.barcode.in_(barcodes[i:i + 1000])))))
    return taken_codes, taken_barcodes


def check_code(code: str, field: str) -> None:
    if GENERATED_CODE.match(code):
        raise ValidationFailed.field(field, "codes of the form SKU-<digits>-<digits> are reserved for generated codes")


def code_taken(code: str, field: str) -> Conflict:
    return Conflict(f"the SKU code {code!r} is taken", code="sku_code_taken",
                    details=[{"field": field, "message": "already taken"}])


def barcode_taken(barcode: str, field: str) -> Conflict:
    return Conflict(f"the barcode {barcode!r} is taken", code="barcode_taken",
                    details=[{"field": field, "message": "already taken"}])


def plan_skus(data: ItemCreateIn) -> list[SkuDraft]:
    """The SKUs an item-create asks for, checked (422 for bad specs, 409 for repeated codes)."""
    specs = data.sku_specs or {}
    names = list(specs)
    drafts = {spec_rules.spec_key(names, c): SkuDraft(specs=c, key=spec_rules.spec_key(names, c))
              for c in spec_rules.combinations(specs)}
    seen_keys: set[str] = set()
    codes: dict[str, str] = {}
    barcodes: dict[str, str] = {}
    for i, given in enumerate(data.skus or []):
        field = f"skus[{i}]"
        if set(given.specs) != set(names) or not all(given.specs[n] in specs[n] for n in names):
            expected = ", ".join(names) if names else "no specs (the item has none)"
            raise ValidationFailed.field(f"{field}.specs", f"must name one listed value of each spec: {expected}")
        key = spec_rules.spec_key(names, given.specs)
        if key in seen_keys:
            raise ValidationFailed.field(f"{field}.specs", "this combination is listed twice")
        seen_keys.add(key)
        draft = drafts[key]
        draft.field, draft.price, draft.barcode = field, given.price, given.barcode
        if given.code is not None:
            check_code(given.code, f"{field}.code")
            if code_key(given.code) in codes:
                raise code_taken(given.code, f"{field}.code")
            codes[code_key(given.code)] = field
            draft.code = given.code
        if given.barcode is not None:
            if code_key(given.barcode) in barcodes:
                raise barcode_taken(given.barcode, f"{field}.barcode")
            barcodes[code_key(given.barcode)] = field
    if not names and data.barcode and drafts[""].barcode is None:
        if code_key(data.barcode) in barcodes:
            raise barcode_taken(data.barcode, "barcode")
        drafts[""].barcode = data.barcode
        drafts[""].field = "barcode"
    return list(drafts.values())


def check_taken(session: Session, drafts: list[SkuDraft]) -> None:
    """409 naming the field if a draft's code or barcode belongs to an existing SKU."""
    taken_codes, taken_barcodes = taken(session, [d.code for d in drafts if d.code],
                                         [d.barcode for d in drafts if d.barcode])
    for draft in drafts:
        if draft.code and code_key(draft.code) in taken_codes:
            raise code_taken(draft.code, f"{draft.field}.code")
        if draft.barcode and code_key(draft.barcode) in taken_barcodes:
            field = "barcode" if draft.field == "barcode" else f"{draft.field}.barcode"
            raise barcode_taken(draft.barcode, field)


def new_item(ctx: Context, data: ItemCreateIn) -> Item:
    """Add the item row (its id comes with the next flush; its SKUs with ``add_skus``)."""
    item = Item(name=data.name, category_id=data.category_id, description=data.description, unit=data.unit,
                brand=data.brand, barcode=data.barcode, price=data.price, status=data.status,
                spec_names=json.dumps(list(data.sku_specs or {}), ensure_ascii=False), created_by=ctx.actor,
                created_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(item)
    return item


def add_skus(ctx: Context, item: Item, drafts: list[SkuDraft], first_number: int = 1) -> list[Sku]:
    """Add SKUs to an item that has its id; generated codes count on from ``first_number``."""
    rows = []
    for n, draft in enumerate(drafts, start=first_number):
        rows.append(Sku(
            item=item, code=draft.code or f"SKU-{item.id:06d}-{n:02d}", barcode=draft.barcode,
            specs=json.dumps(draft.specs, ensure_ascii=False), spec_key=draft.key,
            price=draft.price if draft.price is not None else item.price, price_overridden=draft.price is not None,
            status=item.status, created_at=ctx.now, updated_at=ctx.now,
        ))
    ctx.session.add_all(rows)
    return rows


def emit_created(ctx: Context, item: Item) -> None:
    ctx.emit(ItemCreated(item_id=item.id, name=item.name, category_id=item.category_id, price=item.price,
                         skus=[SkuPrice(id=s.id, code=s.code, price=s.price) for s in item.skus], by=ctx.actor))


def create_item(ctx: Context, data: ItemCreateIn) -> ItemOut:
    """Create an item and its SKUs.

    ``sku_specs`` such as ``{"color": ["红色", "蓝色"], "size": ["S", "M", "L"]}`` give one SKU per
    combination (here 6, at most 500); without specs the item has exactly one SKU (which takes
    the item's ``barcode``). Each SKU gets the item price and a generated code
    ``SKU-<item id>-<n>`` unless ``skus`` says otherwise: a list of
    ``{"specs": {"color": "红色", "size": "S"}, "code": "TS-RED-S", "price": "109.00", "barcode": "690..."}``,
    each entry naming one combination by its spec values. A taken code or barcode is 409 naming
    the field (``skus[1].code``); a bad spec list or an unknown combination is 422.
    """
    _category(ctx.session, data.category_id)
    drafts = plan_skus(data)
    check_taken(ctx.session, drafts)
    item = new_item(ctx, data)
    ctx.session.flush()
    add_skus(ctx, item, drafts)
    ctx.session.flush()
    emit_created(ctx, item)
    return item_out(item)


# --- reading ---------------------------------------------------------------------------------

def _item(session: Session, item_id: int, *, for_update: bool = False) -> Item:
    item = session.get(Item, item_id, with_for_update=for_update or None)
    if item is None:
        raise NotFound(f"item {item_id} does not exist", code="item_not_found",
                       details=[{"field": "item_id", "message": "no such item"}])
    return item


def get_item(ctx: Context, data: ItemIdIn) -> ItemOut:
    """One item with its category and all its SKUs (cached; every write drops the copy)."""
    key = item_key(data.item_id)
    cached = _cached(ctx, key, ItemOut)
    if cached is not None:
        return cached
    out = item_out(_item(ctx.session, data.item_id))
    _store(ctx, key, out)
    return out


SORTS = {"id": Item.id, "name": Item.name, "price": Item.price, "created_at": Item.created_at}


def list_items(ctx: Context, data: ItemListIn) -> Page[ItemSummaryOut]:
    """Items, filtered and sorted.

    ``q`` matches part of the item name, or the start of an item barcode, SKU code or SKU
    barcode. ``category_id`` includes its sub-categories. ``sort`` is id, name, price or
    created_at, ``order`` asc or desc (ties broken by id).
    """
    session = ctx.session
    query = select(Item)
    if data.q:
        prefix = data.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(
            Item.name.contains(data.q, autoescape=True),
            Item.barcode.like(prefix, escape="\\"),
            Item.id.in_(select(Sku.item_id).where(or_(Sku.code.like(prefix, escape="\\"),
                                                      Sku.barcode.like(prefix, escape="\\")))),
        ))
    if data.category_id is not None:
        query = query.where(Item.category_id.in_(subtree_ids(session, data.category_id)))
    if data.status is not None:
        query = query.where(Item.status == data.status)
    column = SORTS[data.sort]
    order = [column.desc() if data.order == "desc" else column.asc()]
    if data.sort != "id":
        order.append(Item.id.desc() if data.order == "desc" else Item.id.asc())

    def with_sku_counts(rows: list) -> list[ItemSummaryOut]:
        counts = dict(session.execute(
            select(Sku.item_id, func.count()).where(Sku.item_id.in_([r.id for r in rows])).group_by(Sku.item_id)
        ).all()) if rows else {}
        return [ItemSummaryOut(**r._mapping, sku_count=counts.get(r.id, 0)) for r in rows]

    columns = query.with_only_columns(Item.id, Item.name, Item.category_id, Item.brand, Item.unit, Item.barcode,
                                      Item.price, Item.status, Item.created_at, Item.updated_at)
    return paginate(session, columns, data, ItemSummaryOut.model_validate, *order, entities=False,
                    per_page=with_sku_counts)


def price_history(ctx: Context, data: ItemPriceHistoryIn) -> Page[PriceChangeOut]:
    """An item's price changes, its own and its SKUs', newest first: who changed what, when, from what to what.

    ``GET /function/item-price-history/1?page=1&page_size=20``. Not cached: a price change is the
    moment someone reads this, and the rows are found by the ``(item_id, changed_at)`` index.
    """
    _item(ctx.session, data.item_id)  # an unknown item is 404, not an empty history
    query = (select(PriceChange.id, PriceChange.item_id, PriceChange.sku_id, Sku.code.label("sku_code"),
                    PriceChange.old_price, PriceChange.new_price, PriceChange.changed_by, PriceChange.changed_at)
             .outerjoin(Sku, Sku.id == PriceChange.sku_id).where(PriceChange.item_id == data.item_id))
    # One update writes several rows at the same instant: the id keeps them in the order they were made.
    return paginate(ctx.session, query, data, lambda r: PriceChangeOut(**r._mapping),
                    PriceChange.changed_at.desc(), PriceChange.id.desc(), entities=False)


def get_sku(ctx: Context, data: SkuGetIn) -> SkuDetailOut:
    """One SKU with its item, by ``id``, ``code`` or ``barcode`` (exactly one): what a till scans.

    ``GET /function/sku-get/5``, ``?code=SKU-000001-01`` or ``?barcode=6901234567890``. Cached;
    every write to the item drops the copy.
    """
    given = [(f, v) for f, v in (("id", data.id), ("code", data.code), ("barcode", data.barcode)) if v is not None]
    if len(given) != 1:
        raise ValidationFailed("give exactly one of id, code or barcode", details=[
            {"field": f, "message": "give exactly one of id, code or barcode"} for f in ("id", "code", "barcode")])
    field, value = given[0]
    key = f"catalog:sku:{field}:{value}"
    cached = _cached(ctx, key, SkuDetailOut)
    if cached is not None:
        return cached
    column = {"id": Sku.id, "code": Sku.code, "barcode": Sku.barcode}[field]
    row = ctx.session.execute(
        select(Sku, Item.name, Item.status, Item.unit, Item.category_id).join(Item, Item.id == Sku.item_id)
        .where(column == value)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no SKU with {field} {value}", code="sku_not_found",
                       details=[{"field": field, "message": "no such SKU"}])
    sku = row[0]
    out = SkuDetailOut(**sku_out(sku).model_dump(), item=SkuItemRef(
        id=sku.item_id, name=row.name, status=row.status, unit=row.unit, category_id=row.category_id))
    _store(ctx, key, out)
    return out


# --- changing items --------------------------------------------------------------------------

def record_price(ctx: Context, item: Item, sku: Sku | None, old: Decimal, new: Decimal,
                 changes: list[PriceChangeLine]) -> None:
    ctx.session.add(PriceChange(item_id=item.id, sku_id=sku.id if sku else None, old_price=old, new_price=new,
                                changed_by=ctx.actor, changed_at=ctx.now))
    changes.append(PriceChangeLine(sku_id=sku.id if sku else None, sku_code=sku.code if sku else None,
                                   old_price=old, new_price=new))


def _find_sku(item: Item, ref_id: int | None, code: str | None, field: str) -> Sku:
    if (ref_id is None) == (code is None):
        raise ValidationFailed.field(field, "give exactly one of id or code")
    for sku in item.skus:
        if (ref_id is not None and sku.id == ref_id) or (code is not None and sku.code == code):
            return sku
    which = f"id {ref_id}" if ref_id is not None else f"code {code!r}"
    raise NotFound(f"item {item.id} has no SKU with {which}", code="sku_not_found",
                   details=[{"field": f"{field}.{'id' if ref_id is not None else 'code'}", "message": "no such SKU"}])


def _sku_following_barcode(item: Item, data: ItemUpdateIn) -> Sku | None:
    """The SKU whose barcode moves with the item's in this update: the one SKU of an item without
    specs, when it carries the item's barcode (or none) and the update does not set it itself."""
    if data.barcode is None or data.barcode == item.barcode or len(item.skus) != 1 or json.loads(item.spec_names):
        return None
    (sku,) = item.skus
    if sku.barcode not in (None, item.barcode):
        return None
    if any(c.barcode is not None and (c.id == sku.id or c.code == sku.code) for c in data.skus or []):
        return None
    return sku


def _check_update(session: Session, item: Item, data: ItemUpdateIn, follower: Sku | None) -> list[tuple[Sku, str]]:
    """Every check of an item-update, before anything changes: the SKUs it names, in order."""
    if data.category_id is not None and data.category_id != item.category_id:
        _category(session, data.category_id)
    if follower is not None and session.scalar(select(Sku.id).where(Sku.barcode == data.barcode,
                                                                    Sku.id != follower.id)) is not None:
        raise barcode_taken(data.barcode, "barcode")
    found: list[tuple[Sku, str]] = []
    for i, change in enumerate(data.skus or []):
        field = f"skus[{i}]"
        sku = _find_sku(item, change.id, change.code, field)
        if change.price is not None and change.follow_item_price:
            raise ValidationFailed.field(f"{field}.price", "give a price or follow_item_price, not both")
        if change.barcode is not None and change.barcode != sku.barcode:
            other = session.scalar(select(Sku.id).where(Sku.barcode == change.barcode, Sku.id != sku.id))
            if other is not None or any(c.barcode == change.barcode for c in (data.skus or [])[:i]):
                raise barcode_taken(change.barcode, f"{field}.barcode")
        found.append((sku, field))
    return found


def apply_update(ctx: Context, item: Item, data: ItemUpdateIn) -> list[str]:
    """Apply an item-update to a loaded item, all or nothing; return the names of what changed."""
    follower = _sku_following_barcode(item, data)
    found = _check_update(ctx.session, item, data, follower)
    keys_before = item_keys(item)
    changed: list[str] = []
    price_changes: list[PriceChangeLine] = []
    if follower is not None:  # what a till scans must be the item's new barcode
        follower.barcode, follower.updated_at = data.barcode, ctx.now
        changed.append(f"skus.{follower.code}")
    for name in ("name", "description", "unit", "brand", "barcode"):
        value = getattr(data, name)
        if value is not None and value != getattr(item, name):
            setattr(item, name, value)
            changed.append(name)
    if data.category_id is not None and data.category_id != item.category_id:
        item.category_id = data.category_id
        item.category = ctx.session.get(Category, data.category_id)
        changed.append("category_id")
    if data.status is not None and data.status != item.status:
        item.status = data.status
        for sku in item.skus:
            sku.status, sku.updated_at = data.status, ctx.now
        changed.append("status")
    if data.price is not None and data.price != item.price:
        record_price(ctx, item, None, item.price, data.price, price_changes)
        item.price = data.price
        for sku in item.skus:
            if not sku.price_overridden and sku.price != data.price:
                record_price(ctx, item, sku, sku.price, data.price, price_changes)
                sku.price, sku.updated_at = data.price, ctx.now
        changed.append("price")
    for change, (sku, _field) in zip(data.skus or [], found, strict=True):
        touched = False
        own = change.price is not None
        new_price = change.price if own else item.price if change.follow_item_price else None
        if new_price is not None:
            if new_price != sku.price:
                record_price(ctx, item, sku, sku.price, new_price, price_changes)
                sku.price = new_price
                touched = True
            if sku.price_overridden != own:
                sku.price_overridden = own
                touched = True
        if change.barcode is not None and change.barcode != sku.barcode:
            sku.barcode = change.barcode
            touched = True
        if change.status is not None and change.status != sku.status:
            sku.status = change.status
            touched = True
        if touched:
            sku.updated_at = ctx.now
            changed.append(f"skus.{sku.code}")
    if not changed:
        return []
    item.updated_at = ctx.now
    drop_after_commit(ctx, keys_before + item_keys(item))
    ctx.emit(ItemUpdated(item_id=item.id, fields=changed, by=ctx.actor))
    if price_changes:
        ctx.emit(ItemPriceChanged(item_id=item.id, changes=price_changes, by=ctx.actor, at=ctx.now))
    return changed


def update_item(ctx: Context, data: ItemUpdateIn) -> ItemOut:
    """Change an item's name, description, unit, brand, barcode, category, status or prices.

    ``status`` (on_sale / off_sale) applies to the item and all its SKUs. A new ``price`` moves
    every SKU that follows the item price; SKUs with a price of their own keep it. ``skus`` is a
    list of ``{"id": 5}`` or ``{"code": "..."}`` with a new ``price`` (the SKU then keeps its own
    price), ``"follow_item_price": true``, a ``barcode`` or a ``status``. Each price change is kept
    in the price history (who, when, old and new price) and emitted as ``item.price_changed``.
    A new ``barcode`` of an item without specs moves to its SKU too when the SKU carried the old
    one (or none): what the till scans follows the item (409 naming ``barcode`` if it is taken).
    """
    item = _item(ctx.session, data.item_id, for_update=True)
    apply_update(ctx, item, data)
    ctx.session.flush()
    return item_out(item)

