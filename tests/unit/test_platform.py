"""Platform pieces without HTTP: transactions, the outbox, consumer de-duplication, idempotency."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from erp_common import events, idempotency, uow
from erp_common.db import transaction, utcnow
from erp_common.errors import ValidationFailed
from erp_common.events import (
    DomainEvent,
    OutboxEvent,
    claim_event,
    publish_committed,
    redeliver_unprocessed,
    relay_pending,
    write_outbox,
)

_EVENT_CLASSES: dict[str, type[DomainEvent]] = {}


def new_event(session, topic: str, data: dict, occurred_at=None):
    """Write one event of type ``topic`` (a test event class made for it) to the outbox."""
    cls = _EVENT_CLASSES.get(topic)
    if cls is None:
        fields = {name: "str" if isinstance(value, str) else "int" for name, value in data.items()}
        cls = _EVENT_CLASSES[topic] = type(f"TestEvent{len(_EVENT_CLASSES)}", (DomainEvent,), {
            "__annotations__": fields, "__module__": __name__, "event_type": topic})
    (outgoing,) = write_outbox(session, [cls(**data)], occurred_at or utcnow())
    return outgoing


def test_an_event_and_its_change_commit_or_roll_back_together():
    event_id = None
    with pytest.raises(RuntimeError):
        with transaction() as session:
            event_id = new_event(session, "thing.happened", {"n": 1}).id
            raise RuntimeError("the change failed")
    with transaction() as session:
        assert session.get(OutboxEvent, event_id) is None


def test_published_events_are_marked_and_reach_subscribers():
    seen = []
    topic = f"test.t{uuid.uuid4().hex[:8]}"
    subscriber = lambda t, payload: seen.append(json.loads(payload))  # noqa: E731
    events.local_bus.subscribe(topic, subscriber)
    try:
        with transaction() as session:
            envelope = new_event(session, topic, {"amount": "9.90"})
        if events.get_publisher() is events.local_bus:
            assert publish_committed([envelope]) == 1
            assert seen == [json.loads(envelope.body)]
        else:
            assert publish_committed([envelope]) == 1
        body = json.loads(envelope.body)
        assert set(body) == {"id", "type", "occurred_at", "data", "version"}
        assert body["data"] == {"amount": "9.90"} and body["type"] == topic and body["occurred_at"].endswith("Z")
        with transaction() as session:
            assert session.get(OutboxEvent, envelope.id).published_at is not None
    finally:
        events.local_bus.unsubscribe(topic, subscriber)


def test_relay_publishes_what_was_left_behind():
    with transaction() as session:
        a_year_ago = utcnow() - timedelta(days=365)
        event_id = new_event(session, "test.left_behind", {"x": 1}, occurred_at=a_year_ago).id
    result = relay_pending()
    assert result["published"] >= 1
    with transaction() as session:
        assert session.get(OutboxEvent, event_id).published_at is not None


def test_a_consumer_claims_an_event_once():
    event_id = str(uuid.uuid4())
    with transaction() as session:
        assert claim_event(session, "consumer-a", event_id) is True
    with transaction() as session:
        assert claim_event(session, "consumer-a", event_id) is False
        assert claim_event(session, "consumer-b", event_id) is True


def test_idempotency_claim_replay_and_reuse():
    key = uuid.uuid4().hex
    with transaction() as session:
        record = idempotency.claim(session, "op", "alice", key, "hash-1")
        idempotency.complete(record, 201, '{"id": 1}')
    with transaction() as session:
        stored = idempotency.claim(session, "op", "alice", key, "hash-1")
        assert stored == idempotency.StoredResponse(201, '{"id": 1}')
        with pytest.raises(ValidationFailed):
            idempotency.claim(session, "op", "alice", key, "hash-2")
    with transaction() as session:  # another user's key of the same text is theirs
        assert isinstance(idempotency.claim(session, "op", "bob", key, "hash-2"), idempotency.IdempotencyRecord)


def test_a_failed_first_attempt_leaves_the_key_free():
    key = uuid.uuid4().hex
    with pytest.raises(RuntimeError):
        with transaction() as session:
            idempotency.claim(session, "op", "alice", key, "h")
            raise RuntimeError("the work failed")
    with transaction() as session:
        assert isinstance(idempotency.claim(session, "op", "alice", key, "h"), idempotency.IdempotencyRecord)


def test_a_unit_of_work_returns_the_work_result():
    assert uow.run(lambda ctx: ctx.session.scalar(select(1)), uow.system_caller("test")) == 1


def test_subscribers_that_missed_an_event_get_it_again():
    topic = f"test.t{uuid.uuid4().hex[:8]}"
    with transaction() as session:
        old = new_event(session, topic, {"n": 1}, occurred_at=utcnow().replace(microsecond=0) - timedelta(minutes=5))
        fresh = new_event(session, topic, {"n": 2})  # too recent: the connector may still deliver it
        old_id, fresh_id = old.id, fresh.id
    with transaction() as session:
        claim_event(session, "already-done", old_id)
    calls = []

    def deliver(function, topic_, payload):
        calls.append((function, json.loads(payload)["id"]))
        return 200

    result = redeliver_unprocessed({topic: ["missed-it", "already-done"]}, deliver)
    assert calls == [("missed-it", old_id)] and fresh_id not in {c[1] for c in calls}
    assert result == {"redelivered": 1, "redelivery_failed": 0}
    failing = redeliver_unprocessed({topic: ["missed-it"]}, lambda *a: 503)
    assert failing == {"redelivered": 0, "redelivery_failed": 1}


def test_events_handed_over_after_commit_are_published_in_the_background():
    seen = []
    topic = f"test.t{uuid.uuid4().hex[:8]}"
    subscriber = lambda t, payload: seen.append(json.loads(payload)["id"])  # noqa: E731
    events.local_bus.subscribe(topic, subscriber)
    try:
        with transaction() as session:
            envelopes = [new_event(session, topic, {"n": n}) for n in range(3)]
        for envelope in envelopes:
            events.publish_after_commit([envelope])
        assert events.background.wait(10)
        ids = [e.id for e in envelopes]
        if events.get_publisher() is events.local_bus:
            assert seen == ids
        with transaction() as session:
            assert all(session.get(OutboxEvent, i).published_at is not None for i in ids)
    finally:
        events.local_bus.unsubscribe(topic, subscriber)


def test_a_function_is_not_ready_on_a_schema_behind_its_code():
    from erp_common.migrate import schema_problem

    known = {"0001", "0002", "0003"}
    assert schema_problem("0003", "0003", known) is None
    assert schema_problem("0004", "0003", known) is None  # ahead: the next release's migrations ran
    assert "no schema" in schema_problem(None, "0003", known)
    assert "run erp migrate" in schema_problem("0002", "0003", known)
