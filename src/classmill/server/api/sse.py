"""Server-Sent Events on the wire (the WHATWG text/event-stream format): written for the job event
stream, and read back by the tests and the benchmark (`read_messages`) as a browser reads them.

A message is `id:`, `event:` and `data:` fields ended by a blank line; a line starting with ":"
is a comment (the heartbeat). Only events.jsonl lines carry an id: a browser's EventSource keeps
the last id it saw and sends it back as Last-Event-ID when it reconnects, and the other events
(job, summary, end) are re-sent fresh on every connection, so they need none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import AsyncIterator, Iterable, Iterator

from classmill.server.api.job_schemas import JobRunOut
from classmill.server.services.job_events import (Heartbeat, JobChange, LineEvent, StreamEnd, StreamItem,
                                                  SummaryChange)

MEDIA_TYPE = "text/event-stream"
RECONNECT_MS = 2000  # how long a browser waits before reconnecting after a dropped connection
# Proxies (nginx) buffer responses by default, which would hold events back; caches must not keep them.
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def message(data: str, event: str | None = None, event_id: int | None = None) -> str:
    """One SSE message; `data` must be a single line (JSON is)."""
    head = (f"id: {event_id}\n" if event_id is not None else "") + (f"event: {event}\n" if event else "")
    return f"{head}data: {data}\n\n"


def item_text(item: StreamItem) -> str:
    if isinstance(item, LineEvent):
        return message(item.data, item.type, item.number)
    if isinstance(item, JobChange):
        return message(JobRunOut.of(item.view.job, item.view.queue_position).model_dump_json(), "job")
    if isinstance(item, SummaryChange):
        return message(json.dumps(item.summary, ensure_ascii=False), "summary")
    if isinstance(item, StreamEnd):
        return message(json.dumps({"state": item.state}), "end")
    if isinstance(item, Heartbeat):
        return ": keep-alive\n\n"
    raise TypeError(f"not a stream item: {item!r}")


async def event_stream(items: AsyncIterator[StreamItem]) -> AsyncIterator[str]:
    yield f"retry: {RECONNECT_MS}\n\n"
    async for item in items:
        yield item_text(item)


@dataclass(frozen=True)
class Message:
    event: str  # "message" when the stream named none
    data: str
    id: str | None  # the message's own id field, if it had one


def read_messages(lines: Iterable[str]) -> Iterator[Message]:
    """The messages of a stream given line by line (comments and retry dropped), as an EventSource dispatches them."""
    event, data, event_id = "", [], None
    for line in lines:
        if not line:
            if data:
                yield Message(event or "message", "\n".join(data), event_id)
            event, data, event_id = "", [], None
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id":
            event_id = value
