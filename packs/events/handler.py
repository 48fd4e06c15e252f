"""The events function (stack.ce.yml): every event consumer, chosen by the X-Topic the NATS connector sends."""
from erp_common.http import events_handler

handle = events_handler(("catalog", "membership"))
