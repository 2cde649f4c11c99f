"""WebSocket (RFC 6455, RFC 8441): the dissector and the frame parser HTTP/2 reuses in
`websocket.py`, message payloads -> parts in `_messages.py`."""

from protocols.websocket.websocket import (
    WebSocketDissector,
    WebSocketParser,
    parse_extensions,
    upgrade_context,
)

__all__ = ["WebSocketDissector", "WebSocketParser", "parse_extensions", "upgrade_context"]
