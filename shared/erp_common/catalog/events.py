"""The catalog's events: an item created, changed, or repriced."""
from __future__ import annotations

from ..events import DomainEvent, EventPart
from ..schemas import Id, Money, UtcDateTime


class SkuPrice(EventPart):
    id: Id
    code: str
    price: Money


class ItemCreated(DomainEvent):
    event_type = "item.created"

    item_id: Id
    name: str
    category_id: Id
    price: Money
    skus: list[SkuPrice]
    by: str


class ItemUpdated(DomainEvent):
    event_type = "item.updated"

    item_id: Id
    fields: list[str]
    by: str


class PriceChangeLine(EventPart):
    sku_id: Id | None
    sku_code: str | None
    old_price: Money
    new_price: Money


class ItemPriceChanged(DomainEvent):
    event_type = "item.price_changed"

    item_id: Id
    changes: list[PriceChangeLine]
    by: str
    at: UtcDateTime


class ItemImportQueued(DomainEvent):
    """A large CSV import was accepted; item-import-run processes it."""

    event_type = "item.import_queued"

    import_id: Id
    rows: int
    dry_run: bool
    by: str
