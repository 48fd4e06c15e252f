"""Items as CSV: the columns, reading and checking rows, importing them in batches, exporting.

The columns (a file may leave any out; the header names the ones it has, any order):

``item_id, item_name, category_id, item_price, unit, brand, description, item_barcode, status,
specs, sku_code, sku_price, sku_barcode``

Two kinds of row, told apart by ``sku_code``:

- **An item row** (``sku_code`` empty). Without ``item_id`` it creates an item from
  ``item_name``, ``category_id``, ``item_price`` (required) and the optional item columns; its
  ``specs`` ``color=红色|蓝色;size=S|M|L`` give one SKU per combination (codes generated), none
  gives one SKU. With ``item_id`` it updates the item's non-empty columns (``specs``, if given,
  must be the item's current specs).
- **A SKU row** (``sku_code`` given). If the code exists it updates that SKU (``sku_price`` gives
  it a price of its own, ``sku_barcode``) and its item's non-empty item columns. If it does not,
  it adds the SKU with ``specs`` ``color=红色;size=S`` to the item ``item_id``, or else to the item
  an earlier row of this file created with the same ``item_name`` and ``category_id``, or else
  creates that item (``item_name``, ``category_id``, ``item_price`` required). A row that adds a
  SKU to an existing item only uses the SKU columns.

Every row is all or nothing: a rejected row changes nothing and is reported with its line
number (the header is line 1), the column and the reason. Rows are applied in batches of
``BATCH`` per flush; if a batch hits a conflict made meanwhile by someone else, it is redone
row by row. ``item-export`` writes one SKU row per SKU in this shape (``sku_price`` only for a
SKU with a price of its own), so an exported file imports back unchanged. Cells a spreadsheet
would run as a formula are exported with a leading ``'`` and read back without it
(``erp_common.csv_files``).
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import uow
from ..context import Caller, Context, Principal
from ..csv_files import csv_file, csv_text, unescape_cell
from ..db import code_key
from ..errors import ErpError, NotFound, ValidationFailed
from ..events import Envelope
from ..operations import Accepted, FileResult
from ..schemas import PositiveMoney, format_money
from . import services
from . import specs as spec_rules
from .events import ItemImportQueued, ItemUpdated
from .models import Category, Item, ItemImport, Sku
from .schemas import (
    Barcode,
    Code,
    Id,
    ImportIdIn,
    ImportProgressOut,
    ImportQueuedOut,
    ImportReportOut,
    ItemCreateIn,
    ItemExportIn,
    ItemImportIn,
    ItemUpdateIn,
    RejectedRow,
    SkuIn,
    SkuUpdateIn,
    Status,
)

COLUMNS = ("item_id", "item_name", "category_id", "item_price", "unit", "brand", "description", "item_barcode",
           "status", "specs", "sku_code", "sku_price", "sku_barcode")
BATCH = 500
_PRICE = TypeAdapter(PositiveMoney)
_ID = TypeAdapter(Id)
_CODE = TypeAdapter(Code)
_BARCODE = TypeAdapter(Barcode)
_STATUS = TypeAdapter(Status)
# Where an input field of the services comes from in the file.
_FIELD_COLUMNS = {"name": "item_name", "price": "item_price", "barcode": "item_barcode", "sku_specs": "specs",
                  "item_id": "item_id"}


class RowError(Exception):
    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


@dataclass
class Row:
    """One checked line of the file: its values parsed, empty cells as None."""

    line: int
    item_id: int | None = None
    item_name: str | None = None
    category_id: int | None = None
    item_price: Decimal | None = None
    unit: str | None = None
    brand: str | None = None
    description: str | None = None
    item_barcode: str | None = None
    status: str | None = None
    specs: dict[str, list[str]] = field(default_factory=dict)
    sku_code: str | None = None
    sku_price: Decimal | None = None
    sku_barcode: str | None = None

    def item_fields(self) -> dict[str, Any]:
        values = {"name": self.item_name, "category_id": self.category_id, "price": self.item_price,
                  "unit": self.unit, "brand": self.brand, "description": self.description,
                  "barcode": self.item_barcode, "status": self.status}
        return {k: v for k, v in values.items() if v is not None}


# --- reading ----------------------------------------------------------------------------

def _parse(adapter: TypeAdapter, column: str, text: str) -> Any:
    try:
        return adapter.validate_python(text)
    except ValidationError as exc:
        raise RowError(column, exc.errors(include_url=False)[0]["msg"]) from None


def parse_row(line: int, cells: dict[str, str]) -> Row:
    """Check one line's cells (already keyed by column) into a Row, or raise RowError."""
    row = Row(line=line)
    for column, text in cells.items():
        if not text:
            continue
        if column in ("item_id", "category_id"):
            value: Any = _parse(_ID, column, text)
        elif column in ("item_price", "sku_price"):
            value = _parse(_PRICE, column, text)
        elif column == "sku_code":
            value = _parse(_CODE, column, text)
        elif column in ("item_barcode", "sku_barcode"):
            value = _parse(_BARCODE, column, text)
        elif column == "status":
            value = _parse(_STATUS, column, text)
        elif column == "specs":
            try:
                value = spec_rules.parse_text(text)
            except spec_rules.SpecError as exc:
                raise RowError("specs", f"{exc.field}: {exc.message}") from None
        else:
            value = text
        setattr(row, column, value)
    if row.sku_code is None:
        if row.sku_price is not None or row.sku_barcode is not None:
            raise RowError("sku_code", "sku_price and sku_barcode need a sku_code")
        if row.item_id is None:
            _require(row)
    elif any(len(values) != 1 for values in row.specs.values()):
        raise RowError("specs", "a SKU row names one value per spec: color=红色;size=S")
    return row


def _require(row: Row) -> None:
    for column in ("item_name", "category_id", "item_price"):
        if getattr(row, column) is None:
            raise RowError(column, "required for a new item")


def read_csv(text: str) -> tuple[list[Row], list[RejectedRow], int]:
    """Rows that passed the checks, the rejected ones, and how many data rows the file has."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ValidationFailed.field("csv", "the file is empty") from None
    except csv.Error as exc:
        raise ValidationFailed.field("csv", f"line 1: {exc}") from None
    unknown = [h for h in header if h not in COLUMNS]
    if unknown or len(set(header)) != len(header):
        what = f"unknown column(s) {', '.join(unknown)}" if unknown else "a column is named twice"
        raise ValidationFailed.field("csv", f"{what}; the columns are {', '.join(COLUMNS)}")
    if not {"item_id", "sku_code", "item_name"} & set(header):
        raise ValidationFailed.field("csv", "the header needs item_id, item_name or sku_code")
    rows: list[Row] = []
    rejected: list[RejectedRow] = []
    count = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            count += 1
            rejected.append(RejectedRow(row=reader.line_num, field=None, reason=f"unreadable: {exc}"))
            continue
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if len(cells) != len(header):
            rejected.append(RejectedRow(row=reader.line_num, field=None,
                                        reason=f"{len(cells)} cells, the header has {len(header)}"))
            continue
        try:
            # unescape_cell: a cell item-export quoted against formula injection reads back as it was.
            rows.append(parse_row(reader.line_num,
                                  {h: unescape_cell(c.strip()) for h, c in zip(header, cells, strict=True)}))
        except RowError as exc:
            rejected.append(RejectedRow(row=reader.line_num, field=exc.column, reason=exc.reason))
    return rows, rejected, count


# --- importing --------------------------------------------------------------------------

def _column(err: ErpError) -> str | None:
    """The CSV column a service error is about (``skus[0].code`` -> ``sku_code``)."""
    fields = [d.get("field") for d in err.details if d.get("field")]
    if not fields:
        return None
    name = fields[0]
    if name.startswith("skus["):
        tail = name.split(".", 1)[1] if "." in name else "code"
        return {"code": "sku_code", "barcode": "sku_barcode", "price": "sku_price", "specs": "specs"}.get(tail, tail)
    return _FIELD_COLUMNS.get(name.split(".")[0], name.split(".")[0])


def _model(model, **values):
    try:
        return model(**values)
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc) from None


@dataclass
class _NewItem:
    """An item this batch creates: its row, the SKU drafts, and the item object once added."""

    item: Item
    drafts: list[services.SkuDraft]
    keys: set[str]


@dataclass
class Importer:
    """Applies checked rows batch by batch; keeps what one batch must know of the earlier ones."""

    report: ImportReportOut
    seen_codes: dict[str, int] = field(default_factory=dict)
    seen_barcodes: dict[str, int] = field(default_factory=dict)
    created: dict[tuple[str, int], int] = field(default_factory=dict)  # (name, category) -> item id
    updated_items: set[int] = field(default_factory=set)

    def run(self, ctx: Context, rows: list[Row]) -> None:
        """Apply ``rows`` in ``ctx``'s transaction, in batches; rejected rows go to the report."""
        for start in range(0, len(rows), BATCH):
            self._batch_or_rows(ctx, rows[start:start + BATCH])

    def _batch_or_rows(self, ctx: Context, rows: list[Row]) -> None:
        snapshot = self._snapshot(ctx)
        try:
            with ctx.session.begin_nested():
                self._batch(ctx, rows)
        except IntegrityError:  # someone else took a code or barcode meanwhile: find the row
            self._restore(ctx, snapshot)
            for row in rows:
                one = self._snapshot(ctx)
                try:
                    with ctx.session.begin_nested():
                        self._batch(ctx, [row])
                except IntegrityError:
                    self._restore(ctx, one)
                    self._reject(row, None, "conflicts with data changed meanwhile (a code or barcode taken)")

    def _snapshot(self, ctx: Context) -> tuple:
        r = self.report
        return (dict(self.seen_codes), dict(self.seen_barcodes), dict(self.created), set(self.updated_items),
                r.created_items, r.updated_items, r.created_skus, r.updated_skus, len(r.rejected),
                len(ctx.events), len(ctx.after_commit))

    def _restore(self, ctx: Context, snapshot: tuple) -> None:
        (self.seen_codes, self.seen_barcodes, self.created, self.updated_items, r_ci, r_ui, r_cs, r_us, n_rej,
         n_events, n_after) = snapshot
        r = self.report
        r.created_items, r.updated_items, r.created_skus, r.updated_skus = r_ci, r_ui, r_cs, r_us
        del r.rejected[n_rej:]
        del ctx.events[n_events:]
        del ctx.after_commit[n_after:]

    def _reject(self, row: Row, column: str | None, reason: str) -> None:
        self.report.rejected.append(RejectedRow(row=row.line, field=column, reason=reason))

    def _batch(self, ctx: Context, rows: list[Row]) -> None:
        session = ctx.session
        codes = [r.sku_code for r in rows if r.sku_code]
        existing = {code_key(s.code): s for s in session.scalars(select(Sku).where(Sku.code.in_(codes)))} \
            if codes else {}
        item_ids = {r.item_id for r in rows if r.item_id} | {s.item_id for s in existing.values()}
        item_ids |= {self.created[(r.item_name, r.category_id)] for r in rows
                     if r.sku_code and r.item_id is None and (r.item_name, r.category_id) in self.created}
        items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(item_ids)))} if item_ids else {}
        category_ids = {r.category_id for r in rows if r.category_id}
        known_categories = set(session.scalars(select(Category.id).where(Category.id.in_(category_ids)))) \
            if category_ids else set()
        barcodes = [b for r in rows for b in (r.item_barcode, r.sku_barcode) if b]
        taken_barcodes = services.taken(session, [], barcodes)[1] if barcodes else set()
        fresh: dict[tuple[str, int], _NewItem] = {}
        for row in rows:
            try:
                self._row(ctx, row, existing, items, known_categories, taken_barcodes, fresh)
            except RowError as exc:
                self._reject(row, exc.column, exc.reason)
            except ErpError as exc:
                self._reject(row, _column(exc), exc.message)
        if fresh:
            session.flush()  # the new items get their ids
            for key, new in fresh.items():
                services.add_skus(ctx, new.item, new.drafts)
                self.created[key] = new.item.id
            session.flush()
            for new in fresh.values():
                services.emit_created(ctx, new.item)
        session.flush()

    def _row(self, ctx: Context, row: Row, existing: dict[str, Sku], items: dict[int, Item],
             known_categories: set[int], taken_barcodes: set[str], fresh: dict[tuple[str, int], _NewItem]) -> None:
        if row.category_id is not None and row.category_id not in known_categories:
            raise RowError("category_id", f"category {row.category_id} does not exist")
        if row.sku_code is not None and code_key(row.sku_code) in self.seen_codes:
            raise RowError("sku_code", f"the code is on line {self.seen_codes[code_key(row.sku_code)]} already")
        sku = existing.get(code_key(row.sku_code)) if row.sku_code else None
        if sku is not None:
            self._update_sku(ctx, row, sku, items[sku.item_id])
        elif row.sku_code is not None:
            self._new_sku(ctx, row, items, taken_barcodes, fresh)
        elif row.item_id is not None:
            self._update_item(ctx, row, items)
        else:
            self._new_item(ctx, row, taken_barcodes, fresh)
        if row.sku_code:
            self.seen_codes[code_key(row.sku_code)] = row.line

    def _check_barcodes(self, row: Row, taken: set[str], *pairs: tuple[str | None, str]) -> None:
        for barcode, column in pairs:
            if barcode is None:
                continue
            if code_key(barcode) in taken:
                raise RowError(column, f"the barcode {barcode} is taken")
            if code_key(barcode) in self.seen_barcodes:
                raise RowError(column, f"the barcode is on line {self.seen_barcodes[code_key(barcode)]} already")

    def _see_barcodes(self, row: Row, *barcodes: str | None) -> None:
        for barcode in barcodes:
            if barcode:
                self.seen_barcodes[code_key(barcode)] = row.line

    def _apply(self, ctx: Context, item: Item, update: ItemUpdateIn) -> bool:
        changed = services.apply_update(ctx, item, update)
        if changed and item.id not in self.updated_items:
            self.updated_items.add(item.id)
            self.report.updated_items += 1
        return bool(changed)

    def _update_item(self, ctx: Context, row: Row, items: dict[int, Item]) -> None:
        item = items.get(row.item_id)
        if item is None:
            raise RowError("item_id", f"item {row.item_id} does not exist")
        names = json.loads(item.spec_names)
        if row.specs and row.specs != spec_rules.specs_from_skus(names, [json.loads(s.specs) for s in item.skus]):
            raise RowError("specs", "an item's specs cannot change; leave the column empty")
        self._apply(ctx, item, _model(ItemUpdateIn, item_id=item.id, **row.item_fields()))

    def _update_sku(self, ctx: Context, row: Row, sku: Sku, item: Item) -> None:
        if row.item_id is not None and row.item_id != sku.item_id:
            raise RowError("item_id", f"the SKU {sku.code} belongs to item {sku.item_id}")
        if row.specs and {n: v[0] for n, v in row.specs.items()} != json.loads(sku.specs):
            raise RowError("specs", "a SKU's specs cannot change; leave the column empty")
        if row.sku_barcode is not None and row.sku_barcode != sku.barcode:
            self._check_barcodes(row, set(), (row.sku_barcode, "sku_barcode"))
        sku_change = {k: v for k, v in (("price", row.sku_price), ("barcode", row.sku_barcode)) if v is not None}
        update = _model(ItemUpdateIn, item_id=item.id, **row.item_fields(),
                        skus=[SkuUpdateIn(code=sku.code, **sku_change)] if sku_change else None)
        before = sku.updated_at
        if self._apply(ctx, item, update) and sku.updated_at != before:
            self.report.updated_skus += 1
        self._see_barcodes(row, row.sku_barcode)

    def _new_sku(self, ctx: Context, row: Row, items: dict[int, Item], taken_barcodes: set[str],
                 fresh: dict[tuple[str, int], _NewItem]) -> None:
        services.check_code(row.sku_code, "sku_code")
        self._check_barcodes(row, taken_barcodes, (row.sku_barcode, "sku_barcode"))
        specs = {n: v[0] for n, v in row.specs.items()}
        key = (row.item_name, row.category_id)
        if row.item_id is None and key in fresh:  # another SKU of an item this batch creates
            new = fresh[key]
            draft = self._draft(row, json.loads(new.item.spec_names), specs, new.keys)
            new.drafts.append(draft)
            new.keys.add(draft.key)
        elif row.item_id is not None or key in self.created:
            item = items.get(row.item_id if row.item_id is not None else self.created[key])
            if item is None:
                raise RowError("item_id", f"item {row.item_id} does not exist")
            draft = self._draft(row, json.loads(item.spec_names), specs, {s.spec_key for s in item.skus})
            keys_before = services.item_keys(item)
            services.add_skus(ctx, item, [draft])
            item.updated_at = ctx.now
            services.drop_after_commit(ctx, keys_before)
            ctx.emit(ItemUpdated(item_id=item.id, fields=[f"skus.{row.sku_code}"], by=ctx.actor))
            if item.id not in self.updated_items:
                self.updated_items.add(item.id)
                self.report.updated_items += 1
        else:
            _require(row)
            data = _model(ItemCreateIn, **row.item_fields(), sku_specs=row.specs or None, skus=[
                SkuIn(specs=specs, code=row.sku_code, price=row.sku_price, barcode=row.sku_barcode)])
            drafts = [d for d in services.plan_skus(data) if d.code == row.sku_code]
            if not row.specs and row.sku_barcode is None:  # the item's barcode becomes its only SKU's
                self._check_barcodes(row, taken_barcodes, (row.item_barcode, "item_barcode"))
                self._see_barcodes(row, row.item_barcode)
            fresh[key] = _NewItem(services.new_item(ctx, data), drafts, {d.key for d in drafts})
            self.report.created_items += 1
        self.report.created_skus += 1
        self._see_barcodes(row, row.sku_barcode)

    def _draft(self, row: Row, names: list[str], specs: dict[str, str], used: set[str]) -> services.SkuDraft:
        if set(specs) != set(names):
            raise RowError("specs", f"the item's specs are {', '.join(names) or 'none'}")
        key = spec_rules.spec_key(names, specs)
        if key in used:
            raise RowError("specs", "the item has a SKU with these specs already")
        return services.SkuDraft(specs={n: specs[n] for n in names}, key=key, code=row.sku_code,
                                 price=row.sku_price, barcode=row.sku_barcode, field="sku")

    def _new_item(self, ctx: Context, row: Row, taken_barcodes: set[str],
                  fresh: dict[tuple[str, int], _NewItem]) -> None:
        data = _model(ItemCreateIn, **row.item_fields(), sku_specs=row.specs or None)
        drafts = services.plan_skus(data)
        if not row.specs:  # the item's barcode becomes its only SKU's
            self._check_barcodes(row, taken_barcodes, (row.item_barcode, "item_barcode"))
            self._see_barcodes(row, row.item_barcode)
        new = _NewItem(services.new_item(ctx, data), drafts, {d.key for d in drafts})
        # Later SKU rows join the item an item row created only by item_id; keep it out of "fresh".
        fresh[(f"\0{row.line}", 0)] = new
        self.report.created_items += 1
        self.report.created_skus += len(drafts)


def new_report(rows: int, rejected: list[RejectedRow], dry_run: bool) -> ImportReportOut:
    return ImportReportOut(rows=rows, created_items=0, updated_items=0, created_skus=0, updated_skus=0,
                           rejected=list(rejected), dry_run=dry_run)


def import_items(ctx: Context, data: ItemImportIn) -> ImportReportOut:
    """Create or update items and SKUs from CSV; answer a report with every rejected row.

    Send the file as the ``csv`` field of a JSON body (``jq -Rs '{csv: .}' items.csv``); with
    ``"dry_run": true`` every row is checked and reported and nothing changes. The columns:
    ``item_id, item_name, category_id, item_price, unit, brand, description, item_barcode,
    status, specs, sku_code, sku_price, sku_barcode`` (any subset, any order). A row without
    ``sku_code`` creates an item (its ``specs`` such as ``color=红色|蓝色;size=S|M|L`` give its
    SKUs) or, with ``item_id``, updates one; a row with ``sku_code`` updates that SKU, or adds it
    (``specs`` such as ``color=红色;size=S``) to ``item_id``, to the item an earlier row created
    with the same ``item_name`` and ``category_id``, or to a new item. Each row is all or
    nothing; rejected rows are listed with their line number (the header is line 1), column
    and reason. A file of more than ``ERP_IMPORT_SYNC_ROWS`` (2,000) rows, or any with
    ``"background": true``, is accepted with 202 and run in the background (``item-import-get``
    reads its progress, then its report), so no request holds a large file for long.
    """
    if data.background or data.csv.count("\n") > ctx.settings.import_sync_rows:
        return _queue(ctx, data)
    rows, rejected, count = read_csv(data.csv)
    report = new_report(count, rejected, data.dry_run)
    importer = Importer(report)
    if data.dry_run:
        n_events, n_after = len(ctx.events), len(ctx.after_commit)
        outer = ctx.session.begin_nested()
        importer.run(ctx, rows)
        outer.rollback()
        del ctx.events[n_events:]
        del ctx.after_commit[n_after:]
    else:
        importer.run(ctx, rows)
    report.rejected.sort(key=lambda r: r.row)
    return report


# --- in the background ----------------------------------------------------------------------

def _queue(ctx: Context, data: ItemImportIn) -> Accepted:
    count = max(0, len(data.csv.splitlines()) - 1)
    job = ItemImport(status="queued", dry_run=data.dry_run, csv=data.csv, rows_total=count, rows_done=0,
                     report="{}", created_by=ctx.actor, created_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(job)
    ctx.session.flush()
    ctx.emit(ItemImportQueued(import_id=job.id, rows=count, dry_run=data.dry_run, by=ctx.actor))
    # The seed path: the same on both packings (/function/item-import-get/... on stack.yml,
    # /function/item/import-get/... on stack.ce.yml) and routed by the cluster's ingress.
    url = f"/item/import-get/{job.id}"
    return Accepted(ImportQueuedOut(import_id=job.id, status="queued", rows=count, dry_run=data.dry_run,
                                    progress_url=url))


def _progress(job: ItemImport) -> ImportProgressOut:
    report = json.loads(job.report) if job.status == "done" else None
    return ImportProgressOut(import_id=job.id, status=job.status, dry_run=job.dry_run, rows_total=job.rows_total,
                             rows_done=job.rows_done, report=report, error=job.error, created_by=job.created_by,
                             created_at=job.created_at, finished_at=job.finished_at)


def get_import(ctx: Context, data: ImportIdIn) -> ImportProgressOut:
    """A background import's progress, and its report once it is done."""
    job = ctx.session.get(ItemImport, data.import_id)
    if job is None:
        raise NotFound(f"no import {data.import_id}", details=[{"field": "import_id", "message": "no such import"}])
    return _progress(job)


def run_import(caller: Caller, envelope: Envelope) -> None:
    """Run a queued import, batch by batch, each batch a unit of work of its own that also records the
    progress: a second delivery (or a run after a crash) takes the import row's lock and goes on from
    the rows done, so no row is applied twice. A dry run checks the whole file in one unit of work and
    rolls it back (on SQLite that holds the write lock while it runs)."""
    import_id = envelope.event.import_id

    def begin(ctx: Context) -> tuple[str, bool] | None:
        job = ctx.session.scalars(select(ItemImport).where(ItemImport.id == import_id).with_for_update()).one()
        if job.status in ("done", "failed"):
            return None
        job.status, job.updated_at = "running", ctx.now
        return job.csv, job.dry_run

    started = uow.run(begin, caller)
    if started is None:
        return
    text, dry_run = started
    rows, rejected, count = read_csv(text)
    report = new_report(count, rejected, dry_run)
    importer = Importer(report)
    batches = [rows[i:i + BATCH] for i in range(0, len(rows), BATCH)] if not dry_run else [rows]

    def step(batch: list[Row], done_after: int, last: bool):
        def work(ctx: Context) -> None:
            job = ctx.session.scalars(select(ItemImport).where(ItemImport.id == import_id).with_for_update()).one()
            if job.rows_done >= done_after and not last:
                return  # done by another run of this import
            if dry_run:
                outer = ctx.session.begin_nested()
                importer.run(ctx, batch)
                outer.rollback()
                ctx.events.clear()
                ctx.after_commit.clear()
            else:
                importer.run(ctx, batch)
            job.rows_done, job.updated_at = done_after, ctx.now
            if last:
                report.rejected.sort(key=lambda r: r.row)
                job.status, job.finished_at = "done", ctx.now
                job.report = report.model_dump_json()
        return work

    done = len(rejected)
    try:
        for number, batch in enumerate(batches):
            done += len(batch)
            uow.run(step(batch, min(done, count), number == len(batches) - 1), caller)
        if not batches:
            uow.run(step([], count, True), caller)
    except Exception as exc:  # recorded, so the import does not look queued for ever
        error = f"{exc.__class__.__name__}: {exc}"[:2000]

        def failed(ctx: Context) -> None:
            job = ctx.session.get(ItemImport, import_id)
            job.status, job.error, job.finished_at = "failed", error, ctx.now

        uow.run(failed, caller)
        raise


def import_in_batches(text: str, principal: Principal, *, dry_run: bool = False,
                      progress: Callable[[int], None] | None = None) -> ImportReportOut:
    """The same import for a large file from the command line: one transaction per batch.

    Each batch commits (and publishes its events) before the next starts, so a long file makes
    progress that survives an interruption; ``progress(n)`` is told how many rows are done. A
    dry run checks the whole file in one transaction and rolls it back.
    """
    rows, rejected, count = read_csv(text)
    report = new_report(count, rejected, dry_run)
    importer = Importer(report)
    if progress and count > len(rows):
        progress(count - len(rows))

    caller = uow.system_caller("item-import", principal)
    batches = [rows[i:i + BATCH] for i in range(0, len(rows), BATCH)]
    if dry_run:
        with uow.unit_of_work(caller) as ctx:
            outer = ctx.session.begin_nested()
            for batch in batches:
                importer.run(ctx, batch)
                if progress:
                    progress(len(batch))
            outer.rollback()
            ctx.events.clear()
            ctx.after_commit.clear()
    for batch in [] if dry_run else batches:
        before: list[tuple] = []

        def work(ctx: Context, batch=batch, before=before) -> None:
            if before:  # a retried attempt (after a deadlock) starts from the same state
                importer._restore(ctx, before[0])
            before[:] = [importer._snapshot(ctx)]
            importer.run(ctx, batch)

        uow.run(work, caller)
        if progress:
            progress(len(batch))
    report.rejected.sort(key=lambda r: r.row)
    return report


# --- exporting ---------------------------------------------------------------------------

def export_rows(ctx: Context, data: ItemExportIn) -> Iterator[list[str]]:
    """One SKU row per SKU, items in id order, in the import shape."""
    # Columns, not entities: loading Item entities would load their SKUs (selectin) in the middle of
    # the streamed result, and on MySQL a query issued while an unbuffered result is open discards
    # the rest of it (an export of more than one batch came out cut short).
    query = (select(Item.id, Item.name, Item.category_id, Item.price, Item.unit, Item.brand, Item.description,
                    Item.barcode, Item.status, Sku.specs, Sku.code, Sku.price.label("sku_price"),
                    Sku.price_overridden, Sku.barcode.label("sku_barcode"))
             .join(Sku, Sku.item_id == Item.id).order_by(Item.id, Sku.id))
    if data.category_id is not None:
        query = query.where(Item.category_id.in_(services.subtree_ids(ctx.session, data.category_id)))
    if data.status is not None:
        query = query.where(Item.status == data.status)
    for row in ctx.session.execute(query.execution_options(yield_per=1000)):
        yield [str(row.id), row.name, str(row.category_id), format_money(row.price), row.unit, row.brand,
               row.description, row.barcode or "", row.status, spec_rules.format_text(json.loads(row.specs)),
               row.code, format_money(row.sku_price) if row.price_overridden else "", row.sku_barcode or ""]


def write_csv(rows) -> str:
    return csv_text(COLUMNS, rows)


def export_items(ctx: Context, data: ItemExportIn) -> FileResult:
    """Every SKU as one CSV row in the item-import shape (``text/csv``), filtered by category or status.

    ``sku_price`` is filled only for SKUs with a price of their own, so the file imports back
    unchanged.
    """
    return csv_file(COLUMNS, export_rows(ctx, data), "items")
