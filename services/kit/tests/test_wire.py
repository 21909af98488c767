"""Reading MCP event streams: the one parser the gateway and the services use for SSE replies."""

from __future__ import annotations

import json

import pytest

from sophia.kit.wire import EventReader, EventStreamError, reply_in_event_stream


def test_the_reply_is_found_after_progress_events_in_any_line_ending() -> None:
    progress = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}}
    reply = {"jsonrpc": "2.0", "id": 7, "result": {"content": []}}
    for end in ("\n", "\r\n"):
        body = f"event: message{end}data: {json.dumps(progress)}{end}{end}id: 2{end}data: {json.dumps(reply)}{end}{end}"
        assert reply_in_event_stream(body, 7) == reply
        assert reply_in_event_stream(body.encode(), 7) == reply


def test_data_split_over_lines_is_one_message_and_an_unterminated_last_event_still_counts() -> None:
    body = 'data: {"jsonrpc": "2.0", "id": 3,\ndata:  "result": {"text": "a  b"}}'
    assert reply_in_event_stream(body, 3)["result"] == {"text": "a  b"}


def test_no_reply_with_the_id_is_an_error() -> None:
    with pytest.raises(ValueError, match="no reply"):
        reply_in_event_stream('data: {"jsonrpc": "2.0", "id": 1, "result": {}}\n\n', 2)


def test_events_are_read_line_by_line_as_they_arrive() -> None:
    reader = EventReader()
    assert reader.feed(b": keep-alive comment\n") is None
    assert reader.feed(b'data: {"id": 1,\n') is None
    assert reader.feed(b'data: "method": "ping"}\n') is None
    assert reader.feed(b"\n") == {"id": 1, "method": "ping"}
    assert reader.feed(b"\n") is None  # a blank line with nothing before it ends nothing


def test_an_event_past_the_bound_or_not_json_is_refused_and_the_reader_is_not_fooled() -> None:
    reader = EventReader(max_event_bytes=64)
    reader.feed(b"data: " + b"x" * 40 + b"\n")
    with pytest.raises(EventStreamError, match="larger than 64 bytes"):
        reader.feed(b"data: " + b"x" * 40 + b"\n")
    with pytest.raises(EventStreamError, match="not JSON"):
        fresh = EventReader()
        fresh.feed(b"data: {not json\n")
        fresh.feed(b"\n")
