"""HTTP/2 in clear text and gRPC over it (RFC 9113): the dissector in `http2.py`, frame
headers in `_frames.py`, HPACK in `_hpack.py` (gRPC message framing is shared with
gRPC-Web over HTTP/1.1 and protobuf decoding: `protocols/_grpc.py`)."""

from protocols.http2.http2 import Http2Dissector

__all__ = ["Http2Dissector"]
