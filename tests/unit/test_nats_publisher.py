"""The NATS publisher (``events.NatsPublisher``) against a nats-server of the test's own: an event
counts as published only when JetStream acknowledged storing it, and each acknowledgement reaches
the message it answers (one inbox, a reply subject per message)."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timezone

from erp_common import events


def _outgoing(event_type: str) -> events.Outgoing:
    event_id = str(uuid.uuid4())
    body = events.envelope_json(event_id, event_type, 1, datetime.now(timezone.utc), json.dumps({"n": event_id}))
    return events.Outgoing(event_id, event_type, body)


def _stored(url: str) -> list[str]:
    """The ids of the messages the stream holds (their Nats-Msg-Id)."""
    async def read() -> list[str]:
        import nats

        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            info = await js.stream_info(events.NatsPublisher.STREAM)
            ids = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                message = await js.get_msg(events.NatsPublisher.STREAM, seq)
                ids.append(message.headers["Nats-Msg-Id"])
            return ids
        finally:
            await nc.close()

    return asyncio.run(read())


def test_every_event_of_a_batch_is_acknowledged_and_stored_once(own_nats):
    publisher = events.NatsPublisher(own_nats.url)
    try:
        batch = [_outgoing("test.created") for _ in range(50)] + [_outgoing("test.changed") for _ in range(25)]
        assert publisher.publish(batch) == [m.id for m in batch]
        again = batch[:10] + [_outgoing("test.created")]  # a republish: acknowledged, not stored twice
        assert publisher.publish(again) == [m.id for m in again]
        stored = _stored(own_nats.url)
        assert sorted(stored) == sorted({m.id for m in batch + again})
    finally:
        publisher.close()


def test_nothing_counts_as_published_while_nats_is_away(own_nats):
    publisher = events.NatsPublisher(own_nats.url)
    try:
        assert publisher.publish([_outgoing("test.created")])
        own_nats.kill()
        try:
            acked = publisher.publish([_outgoing("test.created") for _ in range(5)])
        except Exception:  # no answer in time: the caller counts them as not published
            acked = []
        assert acked == []
        own_nats.start()
        later = [_outgoing("test.created") for _ in range(5)]
        for _ in range(50):  # the client reconnects by itself; the stream outlived the restart
            if publisher.publish(later) == [m.id for m in later]:
                break
        else:
            raise AssertionError("publishing did not recover after NATS came back")
    finally:
        publisher.close()
