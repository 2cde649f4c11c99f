"""The AsyncAPI 3.0 document of the Kafka topics a scan saw.

Servers are the brokers (`host` = `ip:port`, protocol `kafka`); each topic is a channel
(`address` = the topic name, `servers` = the brokers that carried it) with one message
(`components.messages`): the record value as `payload`, record headers as `headers`,
the record key in the Kafka message binding (`bindings.kafka.key`, binding 0.5.0).
A `send` operation when records were produced (Produce requests), `receive` when they
were fetched. JSON values are described property by property; protobuf values by field
name when a schema is known (`--proto`, `--descriptor-set`, `--topic-schema`; the
message type in `x-protobuf-message`), by field number otherwise; text as a string,
other binary values as undescribed. Sensitive places get the inventory's `x-data-type`,
`x-category` and `x-confidence` (`dpi.outputs.apispec.annotations`), keyed by location (`key`,
`value`, `header`) in either direction. No example values.
"""

from __future__ import annotations

import re
from typing import Any, Final

from dpi.outputs.apispec.annotations import Annotations
from dpi.outputs.apispec.enums import EnumVetter
from dpi.outputs.apispec.observer import MAX_BODY_SAMPLES, Channel, SpecObserver

ASYNCAPI_VERSION: Final = "3.0.0"
KAFKA_BINDING_VERSION: Final = "0.5.0"
# Component and channel names: the specification's key pattern `^[A-Za-z0-9_.-]+$`.
_ID_CHARS: Final = re.compile(r"[^A-Za-z0-9_.-]")
_DIRECTIONS: Final = ("request", "response")


def asyncapi_document(
    observer: SpecObserver, annotations: Annotations, vetter: EnumVetter | None = None
) -> dict[str, Any]:
    """The document as plain data (dicts, lists, strings, numbers), ready for YAML/JSON."""
    vetter = vetter or EnumVetter()
    channels = sorted(observer.channels.values(), key=lambda c: c.topic)
    brokers = sorted({server for channel in channels for server in channel.servers})
    server_ids = _unique_ids(["kafka-" + broker for broker in brokers])
    doc: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Kafka topics observed in traffic",
            "version": "observed",
            "description": (
                f"Written by `dpi spec` from captured traffic: topics: {len(channels)}, "
                f"brokers: {len(brokers)}. Shapes are inferred from the records seen; "
                f"`required` means present in every record seen (the first "
                f"{MAX_BODY_SAMPLES:,} of each topic). Places that carry sensitive data have "
                "`x-data-type`, `x-category` and `x-confidence` from the inventory. No value "
                "from the traffic is included, except `enum` lists of short word values "
                "that the inventory does not report and no classifier flags."
            ),
        },
    }
    if brokers:
        doc["servers"] = {
            server_ids[i]: {"host": broker, "protocol": "kafka"} for i, broker in enumerate(brokers)
        }
    by_broker = dict(zip(brokers, server_ids, strict=True))
    channel_ids = _unique_ids([channel.topic for channel in channels])
    out_channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for channel_id, channel in zip(channel_ids, channels, strict=True):
        ref = f"#/channels/{channel_id}"
        out_channels[channel_id] = {
            "address": channel.topic,
            "servers": [{"$ref": f"#/servers/{by_broker[s]}"} for s in sorted(channel.servers)],
            "messages": {"record": {"$ref": f"#/components/messages/{channel_id}"}},
        }
        messages[channel_id] = _message(channel, annotations, vetter)
        message_ref = f"{ref}/messages/record"
        if channel.produced:
            operations[f"produce.{channel_id}"] = {
                "action": "send",
                "channel": {"$ref": ref},
                "messages": [{"$ref": message_ref}],
                "x-observed-records": channel.produced,
            }
        if channel.fetched:
            operations[f"consume.{channel_id}"] = {
                "action": "receive",
                "channel": {"$ref": ref},
                "messages": [{"$ref": message_ref}],
                "x-observed-records": channel.fetched,
            }
    doc["channels"] = out_channels
    doc["operations"] = operations
    if messages:
        doc["components"] = {"messages": messages}
    return doc


def _message(channel: Channel, annotations: Annotations, vetter: EnumVetter) -> dict[str, Any]:
    topic = channel.topic

    def annotate_in(location: str) -> Any:
        def annotate(path: str) -> dict[str, Any] | None:
            return annotations.lookup("kafka", topic, _DIRECTIONS, location, path)

        return annotate

    message: dict[str, Any] = {"name": channel.topic}
    media = [m for m, _ in channel.media.most_common()]
    if len(media) == 1:
        message["contentType"] = media[0]
    if channel.value.seen:
        payload = channel.value.schema(annotate_in("value"), vetter)
        if channel.schema_names:
            payload["x-protobuf-message"] = min(channel.schema_names)
        message["payload"] = payload
    elif channel.undescribed:
        message["payload"] = {"description": "binary values, not decodable without a schema"}
    if channel.headers.properties:
        message["headers"] = channel.headers.schema(annotate_in("header"), vetter)
    if channel.key.seen:
        message["bindings"] = {
            "kafka": {
                "key": channel.key.schema(annotate_in("key"), vetter),
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        }
    return message


def _unique_ids(names: list[str]) -> list[str]:
    taken: set[str] = set()
    out = []
    for name in names:
        base = _ID_CHARS.sub("_", name) or "_"
        candidate, n = base, 2
        while candidate in taken:
            candidate = f"{base}_{n}"
            n += 1
        taken.add(candidate)
        out.append(candidate)
    return out
