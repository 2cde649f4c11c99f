"""Byte factories for HTTP/1.x messages (RFC 9112): requests, responses, chunked bodies,
content codings, and the conversation used by the shared dissector contract test."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable

import brotli
import orjson
import zstandard

from protocols.base import Direction

Header = tuple[str, str]


def encode(body: bytes, coding: str) -> bytes:
    """`body` with one content coding applied (RFC 9110 section 8.4.1)."""
    if coding in ("gzip", "x-gzip"):
        return gzip.compress(body, mtime=0)
    if coding == "deflate":
        return zlib.compress(body)
    if coding == "raw-deflate":
        obj = zlib.compressobj(wbits=-15)
        return obj.compress(body) + obj.flush()
    if coding == "br":
        return bytes(brotli.compress(body))
    if coding == "zstd":
        return zstandard.ZstdCompressor().compress(body)
    raise ValueError(f"unknown coding {coding}")


def chunked(
    body: bytes, size: int = 7, extension: str = "", trailers: Iterable[Header] = ()
) -> bytes:
    """`body` in chunked transfer coding (RFC 9112 section 7.1), chunks of `size` bytes."""
    out = bytearray()
    ext = f";{extension}".encode() if extension else b""
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        out += f"{len(piece):x}".encode() + ext + b"\r\n" + piece + b"\r\n"
    out += b"0\r\n"
    for name, value in trailers:
        out += f"{name}: {value}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


def _head(start_line: str, headers: Iterable[Header]) -> bytes:
    lines = [start_line] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def request(
    method: str = "GET",
    target: str = "/",
    headers: Iterable[Header] = (),
    body: bytes = b"",
    host: str | None = "api.example.test",
    version: str = "HTTP/1.1",
    length: bool = True,
) -> bytes:
    """A request; Content-Length is added for a body unless the headers frame it."""
    hdrs = list(headers)
    if host is not None:
        hdrs.insert(0, ("Host", host))
    names = {n.lower() for n, _ in hdrs}
    if length and body and "transfer-encoding" not in names and "content-length" not in names:
        hdrs.append(("Content-Length", str(len(body))))
    return _head(f"{method} {target} {version}", hdrs) + body


def response(
    status: int = 200,
    headers: Iterable[Header] = (),
    body: bytes = b"",
    reason: str = "OK",
    version: str = "HTTP/1.1",
    length: bool = True,
) -> bytes:
    """A response; Content-Length is added unless the headers frame it or `length` is
    False (read until close, or a bodiless status)."""
    hdrs = list(headers)
    names = {n.lower() for n, _ in hdrs}
    if length and "transfer-encoding" not in names and "content-length" not in names:
        hdrs.append(("Content-Length", str(len(body))))
    return _head(f"{version} {status} {reason}", hdrs) + body


def json_request(method: str, target: str, obj: object, headers: Iterable[Header] = ()) -> bytes:
    return request(
        method,
        target,
        [("Content-Type", "application/json"), *headers],
        orjson.dumps(obj),
    )


def json_response(obj: object, status: int = 200, headers: Iterable[Header] = ()) -> bytes:
    return response(status, [("Content-Type", "application/json"), *headers], orjson.dumps(obj))


def gzip_chunked_json_response(obj: object) -> bytes:
    body = chunked(encode(orjson.dumps(obj), "gzip"), size=16)
    return response(
        200,
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked"),
        ],
        body,
    )


def contract_conversation() -> list[tuple[Direction, bytes]]:
    """A keep-alive conversation touching every framing: Content-Length, chunked with
    extensions and trailers, gzip, pipelining, HEAD, 204, 100-continue, cookies, query."""
    req, resp = Direction.REQUEST, Direction.RESPONSE
    login = {"login_id": "jane@example.test", "password": "hunter2", "n": [1, 2.5]}
    return [
        (
            req,
            json_request(
                "POST", "/api/v4/users/login?x=1&y=2", login, [("Cookie", "sid=abc123; theme=dark")]
            ),
        ),
        (
            resp,
            json_response(
                {"id": "u1", "email": "jane@example.test"},
                headers=[("Set-Cookie", "sid=def456; Path=/; HttpOnly")],
            ),
        ),
        (
            req,
            request("GET", "/v1/users/42", [("Accept", "application/json")])
            + request("HEAD", "/v1/ping"),
        ),
        (
            resp,
            gzip_chunked_json_response({"users": [{"phone": "+1 202 555 0100"}]})
            + response(200, [("Content-Length", "123")], b""),
        ),
        (
            req,
            request(
                "PUT",
                "/v1/items/7",
                [
                    ("Content-Type", "application/json"),
                    ("Expect", "100-continue"),
                    ("Transfer-Encoding", "chunked"),
                ],
                chunked(
                    b'{"name": "widget", "ssn": "078-05-1120"}', 5, "ext=1", [("X-Checksum", "abc")]
                ),
            ),
        ),
        (resp, response(100, reason="Continue", length=False) + response(204, length=False)),
        (
            req,
            request(
                "POST",
                "/form",
                [("Content-Type", "application/x-www-form-urlencoded")],
                b"a=1&b=two",
            ),
        ),
        (resp, response(200, [("Content-Type", "text/plain")], b"done")),
    ]
