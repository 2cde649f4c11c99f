"""HTTP/1.0 and HTTP/1.1 (RFC 9112): the dissector in `http1.py`."""

from protocols.http1.http1 import MAX_PENDING, Http1Dissector

__all__ = ["MAX_PENDING", "Http1Dissector"]
