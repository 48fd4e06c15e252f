"""Domain events: typed events, the outbox, publishing after commit, consumer de-duplication.

Every event is a pydantic model (``DomainEvent`` subclass) registered by its ``event_type`` and
``event_version``; money, quantities and times are written by the shared schema types, one way.
A service records one with ``ctx.emit(OrderPaid(...))``; the unit of work writes the events it
collected to ``outbox_events`` in the same transaction as the change they describe (one INSERT),
so neither exists without the other. After commit they go to a background thread that
publishes them (in batches under load): to NATS (subject = event type) when NATS_URL is set,
else to the in-process bus that the local gateway listens on. Rows that could not be published
stay unpublished and are sent again by ``relay_pending`` (the ``job-relay-events`` function).
The NATS connector delivers at most once, so the same job also re-invokes, through the gateway,
each subscriber that has not processed an event a minute after it happened
(``redeliver_unprocessed``): no event is lost when NATS, the connector or a function is down.

Consumers never trust a delivered body: they look the event up by id in the outbox (the shared
database is the source of truth), receive it typed, and record its id in ``processed_events``
in the same transaction as their work, so a repeated delivery changes nothing.
"""
from __future__ import annotations

import itertools
import json
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Index, Integer, String, Text, bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import metrics
from .config import get_settings
from .db import Base, UTCDateTime, transaction, utcnow
from .prepared import Prepared
from .schemas import iso_utc

log = logging.getLogger(__name__)


class EventPart(BaseModel):
    """Base of the models nested in events (an event's lines): frozen, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class DomainEvent(BaseModel):
    """Base of every event: subclasses set ``event_type`` (the NATS subject) and ``event_version``.

    A change of an event's shape that consumers could not read is a new version (a new class
    with the same type and the next version), published beside the old one while consumers move.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            register_event(cls)


_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
EVENT_TYPES: dict[tuple[str, int], type[DomainEvent]] = {}


def register_event(cls: type[DomainEvent]) -> None:
    if not _EVENT_TYPE.match(cls.event_type):
        raise ValueError(f"{cls.__name__}: {cls.event_type!r} is not an event type such as 'order.paid'")
    key = (cls.event_type, cls.event_version)
    if key in EVENT_TYPES and EVENT_TYPES[key] is not cls:
        raise ValueError(f"event {cls.event_type} v{cls.event_version} is declared twice")
    EVENT_TYPES[key] = cls


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    data: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_outbox_unpublished", "published_at", "occurred_at"),
        Index("ix_outbox_type_time", "type", "occurred_at"),
    )


class Outgoing(NamedTuple):
    """A committed event ready to publish: its subject and the envelope as JSON."""

    id: str
    type: str
    body: str


def envelope_json(event_id: str, type_: str, version: int, occurred_at: datetime, data_json: str) -> str:
    """The envelope ``{"id", "type", "occurred_at", "data", "version"}``, around data already in JSON
    (written once by pydantic; never parsed and written again)."""
    return (f'{{"id":"{event_id}","type":"{type_}","occurred_at":"{iso_utc(occurred_at)}",'
            f'"data":{data_json},"version":{version}}}')


class ProcessedEvent(Base):
    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Envelope:
    """An event as a consumer receives it: loaded from the outbox, typed."""

    id: str
    occurred_at: datetime
    event: DomainEvent

    @property
    def type(self) -> str:
        return self.event.event_type


_INSERT_EVENTS = Prepared(insert(OutboxEvent.__table__))  # prepared once (erp_common.prepared)


def write_outbox(session: Session, emitted: list[DomainEvent], occurred_at: datetime) -> list[Outgoing]:
    """Write a unit of work's events to the outbox, in its transaction, in one INSERT."""
    if not emitted:
        return []
    rows, outgoing = [], []
    for event in emitted:
        event_id, data = str(uuid.uuid4()), event.model_dump_json()
        rows.append({"id": event_id, "type": event.event_type, "version": event.event_version, "data": data,
                     "occurred_at": occurred_at, "published_at": None, "attempts": 0})
        outgoing.append(Outgoing(event_id, event.event_type,
                                 envelope_json(event_id, event.event_type, event.event_version, occurred_at, data)))
    _INSERT_EVENTS.run_many(session, rows)
    return outgoing


def _outgoing(row: OutboxEvent) -> Outgoing:
    return Outgoing(row.id, row.type, envelope_json(row.id, row.type, row.version, row.occurred_at, row.data))


def load_event(session: Session, event_id: str) -> Envelope | None:
    """The event with this id, typed by its registered class; None if there is no such event."""
    row = session.get(OutboxEvent, event_id)
    if row is None:
        return None
    cls = EVENT_TYPES.get((row.type, row.version))
    if cls is None:
        raise LookupError(f"event {event_id} is {row.type} v{row.version}, which no loaded domain declares")
    return Envelope(row.id, row.occurred_at, cls.model_validate_json(row.data))


def already_processed(session: Session, consumer: str, event_id: str) -> bool:
    return session.get(ProcessedEvent, (consumer, event_id)) is not None


def claim_event(session: Session, consumer: str, event_id: str) -> bool:
    """Record that ``consumer`` handles ``event_id`` in this transaction; False if it already did."""
    try:
        with session.begin_nested():
            session.add(ProcessedEvent(consumer=consumer, event_id=event_id, processed_at=utcnow()))
            session.flush()
    except IntegrityError:
        return False
    return True


# --- publishing -------------------------------------------------------------------------

Subscriber = Callable[[str, bytes], None]


class LocalBus:
    """In-process delivery: the local gateway subscribes its functions here by topic."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Subscriber]] = {}
        self._lock = threading.Lock()

    def subscribe(self, topic: str, callback: Subscriber) -> None:
        with self._lock:
            self._subscribers.setdefault(topic, []).append(callback)

    def unsubscribe(self, topic: str, callback: Subscriber) -> None:
        with self._lock:
            callbacks = self._subscribers.get(topic, [])
            if callback in callbacks:
                callbacks.remove(callback)

    def publish(self, messages: list[Outgoing]) -> list[str]:
        """Deliver to the subscribers in this process; every event counts as published."""
        for message in messages:
            with self._lock:
                callbacks = list(self._subscribers.get(message.type, ()))
            payload = message.body.encode()  # once, whatever the number of subscribers
            for callback in callbacks:
                callback(message.type, payload)
        return [m.id for m in messages]


class NatsPublisher:
    """Publishes through JetStream over one NATS connection kept on a background loop.

    An event counts as published only when the server has acknowledged storing it in the stream
    ``ERP_EVENTS`` (its subjects: the event types this process has published), so nothing is
    marked published that sat in the client's buffer while NATS was away (core ``publish`` and
    ``flush`` return at once while disconnected: that lost events). ``Nats-Msg-Id`` is the event
    id, so a republish inside the duplicate window (2 minutes) is not stored twice. Core
    subscribers, such as the OpenFaaS NATS connector, receive every message as before.

    A batch is published as JetStream's own clients publish asynchronously: every message goes out
    with a reply subject of its own under one inbox this publisher subscribes to, the server's
    acknowledgements (or errors) come back there, and the batch waits once for all of them, up to
    ACK_TIMEOUT. (``js.publish`` per message made a request, a timer and a task each: about a
    sixth of the gateway's CPU per order went to publishing two events.)
    """

    STREAM = "ERP_EVENTS"
    ACK_TIMEOUT = 2.0
    CONNECT_WAIT = 3.0
    KEEP_SECONDS = 24 * 3600  # the outbox is the record; the stream only has to outlive a redelivery

    def __init__(self, url: str) -> None:
        import asyncio  # here, not at import: only a process that publishes to NATS needs it

        self._url = url
        self._loop = asyncio.new_event_loop()
        self._nc = None
        self._js = None
        self._subjects: set[str] = set()  # subjects the stream is known to capture
        self._connecting: asyncio.Lock | None = None  # created on the loop's thread
        self._acks: tuple[object, str] | None = None  # (the connection, the inbox its acknowledgements reach)
        self._waiting: dict[str, asyncio.Future] = {}  # reply token -> the message's acknowledgement
        self._tokens = itertools.count()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats-publisher", daemon=True)
        self._thread.start()

    async def _connection(self):
        import asyncio

        import nats

        if self._connecting is None:
            self._connecting = asyncio.Lock()
        # Many request threads publish at once: without the lock each would open a connection of
        # its own while the first is still connecting, and all but one would leak.
        async with self._connecting:
            if self._nc is None or self._nc.is_closed:
                # Once connected, the client reconnects by itself for ever; the first connection is
                # given CONNECT_WAIT: with NATS away the events stay in the outbox, and the next
                # batch tries again.
                self._nc = await asyncio.wait_for(nats.connect(
                    self._url, connect_timeout=2, max_reconnect_attempts=-1, reconnect_time_wait=1,
                    name="erp-publisher", **connection_callbacks("the event publisher"),
                ), self.CONNECT_WAIT)
                self._js = self._nc.jetstream(timeout=self.ACK_TIMEOUT)
        return self._js

    async def _capture(self, js, subjects: set[str]) -> None:
        """Make sure the stream captures these subjects (created, or its subjects extended)."""
        from nats.js.api import StorageType, StreamConfig
        from nats.js.errors import NotFoundError

        if subjects <= self._subjects:
            return
        try:
            info = await js.stream_info(self.STREAM)
        except NotFoundError:
            await js.add_stream(StreamConfig(name=self.STREAM, subjects=sorted(subjects), storage=StorageType.FILE,
                                             max_age=self.KEEP_SECONDS, duplicate_window=120))
            self._subjects = set(subjects)
            return
        have = set(info.config.subjects or ())
        if not subjects <= have:
            info.config.subjects = sorted(have | subjects)
            await js.update_stream(info.config)
        self._subjects = have | subjects

    async def _ack_inbox(self) -> str:
        """The inbox the server's acknowledgements reach (subscribed once per connection; the client
        subscribes again by itself after a reconnect)."""
        nc = self._nc
        if self._acks is None or self._acks[0] is not nc:
            inbox = nc.new_inbox()
            await nc.subscribe(inbox + ".*", cb=self._acknowledged)
            self._acks = (nc, inbox)
        return self._acks[1]

    async def _acknowledged(self, msg) -> None:
        future = self._waiting.pop(msg.subject.rpartition(".")[2], None)
        if future is None or future.done():
            return  # came after the batch stopped waiting: the relay sends that event again
        stored = False
        if not (msg.headers and msg.headers.get("Status")):  # 503: no stream captures the subject
            try:
                answer = json.loads(msg.data)
                stored = isinstance(answer, dict) and "stream" in answer and "error" not in answer
            except ValueError:
                stored = False
        future.set_result(stored)

    async def _publish(self, messages: list[Outgoing]) -> list[str]:
        import asyncio

        js = await self._connection()
        await self._capture(js, {m.type for m in messages})
        inbox = await self._ack_inbox()
        loop = asyncio.get_running_loop()
        sent: list[tuple[Outgoing, str, asyncio.Future]] = []
        try:
            for m in messages:
                token, future = str(next(self._tokens)), loop.create_future()
                self._waiting[token] = future
                sent.append((m, token, future))
                await self._nc.publish(m.type, m.body.encode(), reply=f"{inbox}.{token}",
                                       headers={"Nats-Msg-Id": m.id})
            await asyncio.wait([future for _, _, future in sent], timeout=self.ACK_TIMEOUT)
        finally:
            for _, token, _ in sent:
                self._waiting.pop(token, None)
        stored = [m.id for m, _, future in sent if future.done() and future.result()]
        failed = {m.type for m, _, future in sent if not (future.done() and future.result())}
        self._subjects -= failed  # perhaps another process rewrote the stream's subjects: check again
        return stored

    def publish(self, messages: list[Outgoing]) -> list[str]:
        """Publish and wait for the acknowledgements; the ids of the events the server stored."""
        import asyncio

        if not messages:
            return []
        return asyncio.run_coroutine_threadsafe(self._publish(messages), self._loop).result(
            timeout=self.ACK_TIMEOUT + 8)

    def close(self) -> None:
        import asyncio

        async def _close():
            if self._nc is not None and not self._nc.is_closed:
                await self._nc.drain()

        try:
            asyncio.run_coroutine_threadsafe(_close(), self._loop).result(timeout=5)
        except Exception:  # closing is best effort
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)


def connection_callbacks(who: str) -> dict[str, Callable]:
    """NATS client callbacks that say once that NATS went away and once that it is back, with how
    many attempts failed between (nats-py's default logs an error and a traceback every second)."""
    state = {"down": False, "errors": 0}

    async def disconnected() -> None:
        if not state["down"]:
            state["down"] = True
            log.warning("NATS is not reachable from %s: retrying every second; events stay in the outbox", who)

    async def reconnected() -> None:
        if state["down"]:
            log.warning("NATS is back for %s after %d failed attempts", who, state["errors"])
        state["down"], state["errors"] = False, 0

    async def error(exc: Exception) -> None:
        state["errors"] += 1
        if not state["down"]:
            state["down"] = True
            log.warning("NATS error for %s (%s: %s): retrying every second", who, exc.__class__.__name__, exc)

    return {"disconnected_cb": disconnected, "reconnected_cb": reconnected, "error_cb": error}


local_bus = LocalBus()
_publisher_lock = threading.Lock()
_publisher: NatsPublisher | LocalBus | None = None


def get_publisher() -> NatsPublisher | LocalBus:
    global _publisher
    if _publisher is None:
        with _publisher_lock:
            if _publisher is None:
                url = get_settings().nats_url
                _publisher = NatsPublisher(url) if url else local_bus
    return _publisher


def reset_publisher() -> None:
    global _publisher
    background.wait(5)  # publish what was handed over before forgetting the publisher
    with _publisher_lock:
        if isinstance(_publisher, NatsPublisher):
            _publisher.close()
        _publisher = None


_outbox = OutboxEvent.__table__
_MARK_PUBLISHED = (update(_outbox).where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
                   .values(published_at=bindparam("now", type_=_outbox.c.published_at.type)))
_COUNT_ATTEMPT = (update(_outbox).where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
                  .values(attempts=_outbox.c.attempts + 1))


_failing = {"since": None, "events": 0}  # one warning when publishing starts failing, one when it works again


def _send(envelopes: list[Outgoing]) -> tuple[list[str], list[str]]:
    """Publish; (the ids the server acknowledged, the ids it did not). Never raises."""
    try:
        acked = get_publisher().publish(envelopes)
    except Exception as exc:  # not reachable, or no answer in time
        acked, error = [], exc
    else:
        error = None
    acked_set = set(acked)
    missed = [e.id for e in envelopes if e.id not in acked_set]
    if missed:
        if _failing["since"] is None:
            _failing["since"] = time.monotonic()
            log.warning("could not publish %d event(s) (%s); they stay in the outbox and are sent again",
                        len(missed), error or "not acknowledged")
        _failing["events"] += len(missed)
    elif _failing["since"] is not None:
        log.warning("publishing works again after %.0f s (%d events were left for the relay)",
                    time.monotonic() - _failing["since"], _failing["events"])
        _failing["since"], _failing["events"] = None, 0
    return list(acked), missed


def _record(session: Session, acked: list[str], missed: list[str]) -> None:
    if acked:
        session.connection().execute(_MARK_PUBLISHED, {"ids": acked, "now": utcnow()})
    if missed:
        session.connection().execute(_COUNT_ATTEMPT, {"ids": missed})


def publish_committed(envelopes: list[Outgoing]) -> int:
    """Publish events whose transaction has committed; mark the ones the server acknowledged.

    Events not acknowledged stay unpublished (their attempts counted) and ``job-relay-events``
    sends them later. Never raises.
    """
    if not envelopes:
        return 0
    acked, missed = _send(envelopes)
    try:
        with transaction() as session:
            _record(session, acked, missed)
    except Exception:  # published but not marked: the relay sends it again; the server drops the repeat
        log.exception("could not mark published events")
    return len(acked)


class BackgroundPublisher:
    """Publishes committed events from one background thread, so no request waits for it.

    A request hands its envelopes over after commit and answers at once; the thread takes
    whatever has queued up (one request's events, or many under load), publishes them in one go
    and marks them in one UPDATE. Should the process die first, the events are still in the
    outbox, unpublished, and the relay job sends them: the same guarantee as publishing inline,
    without one NATS round trip and one more transaction on every request.
    """

    MAX_BATCH = 500
    # Once an envelope arrives, wait this long for more before publishing: under load a batch then
    # holds many requests' events, and its NATS flush, UPDATE and COMMIT are shared among them
    # (each costs as much as the events themselves); an event reaches NATS at most this much later.
    LINGER = 0.02

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[list[Outgoing] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0

    def submit(self, envelopes: list[Outgoing]) -> None:
        if not envelopes:
            return
        with self._lock:
            self._pending += 1
            self._idle.clear()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="outbox-publisher", daemon=True)
                self._thread.start()
        self._queue.put(envelopes)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is not None and self.LINGER:
                time.sleep(self.LINGER)
            batch, taken = list(first or ()), 1
            while len(batch) < self.MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                batch.extend(more or ())
                taken += 1
            try:
                publish_committed(batch)
            except Exception:  # publish_committed never raises; keep the thread alive regardless
                log.exception("background publishing failed")
            with self._lock:
                self._pending -= taken
                if self._pending == 0:
                    self._idle.set()

    def wait(self, timeout: float = 10) -> bool:
        """Wait until everything handed over so far is published (tests, shutdown); False on timeout."""
        return self._idle.wait(timeout)


background = BackgroundPublisher()


def publish_after_commit(envelopes: list[Outgoing]) -> None:
    """Hand events whose transaction has committed to the background publisher."""
    background.submit(envelopes)


def relay_pending(*, older_than_seconds: int = 5, limit: int = 500, batches: int = 20) -> dict[str, int]:
    """Publish outbox events left unpublished (NATS was down, the process died after commit).

    Each batch is read with ``FOR UPDATE SKIP LOCKED`` and held until it is published and marked,
    so two relays at once (a replica each, or a run by hand beside the scheduled one) never send
    the same event twice; on SQLite the write lock serialises them.
    """
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    pending = published = 0
    for _ in range(batches):
        with transaction() as session:
            rows = session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None), OutboxEvent.occurred_at <= cutoff)
                .order_by(OutboxEvent.occurred_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            envelopes = [_outgoing(row) for row in rows]
            acked, missed = _send(envelopes) if envelopes else ([], [])
            _record(session, acked, missed)
        pending += len(envelopes)
        published += len(acked)
        if len(envelopes) < limit or missed:
            break
    return {"pending": pending, "published": published}


Deliver = Callable[[str, str, bytes], int]  # (function name, topic, envelope) -> HTTP status


def deliver_through_gateway(function: str, topic: str, payload: bytes) -> int:
    """POST an event to a subscriber through the gateway, as the NATS connector would."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{get_settings().gateway_url}/function/{function}",
        data=payload,
        method="POST",
        headers={"Content-Type": "application/json", "X-Topic": topic, "X-Connector": "erp-redelivery",
                 **({"X-Connector-Secret": secret} if (secret := get_settings().connector_secret) else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def redeliver_unprocessed(
    consumers: dict[str, list[str]],
    deliver: Deliver = deliver_through_gateway,
    *,
    min_age_seconds: int = 60,
    max_age_hours: int = 24,
    limit: int = 200,
) -> dict[str, int]:
    """Re-invoke each subscriber (``{topic: [function, ...]}``) for events it has not processed."""
    now = utcnow()
    newest, oldest = now - timedelta(seconds=min_age_seconds), now - timedelta(hours=max_age_hours)
    delivered = failed = 0
    for topic, functions in consumers.items():
        for function in functions:
            with transaction(readonly=True) as session:
                done = exists().where(ProcessedEvent.consumer == function, ProcessedEvent.event_id == OutboxEvent.id)
                rows = session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.type == topic, OutboxEvent.occurred_at.between(oldest, newest), ~done)
                    .order_by(OutboxEvent.occurred_at)
                    .limit(limit)
                ).all()
                payloads = [_outgoing(row).body.encode() for row in rows]
            for payload in payloads:
                try:
                    status = deliver(function, topic, payload)
                except Exception as exc:  # the subscriber or gateway is down: next run tries again
                    log.warning("redelivery to %s failed: %s", function, exc)
                    status = 0
                if 200 <= status < 300:
                    delivered += 1
                else:
                    failed += 1
                metrics.EVENT_REDELIVERIES.labels(function, "delivered" if 200 <= status < 300 else "failed").inc()
    return {"redelivered": delivered, "redelivery_failed": failed}
