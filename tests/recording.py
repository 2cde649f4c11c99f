"""A test observer that records every message the engine emits (before classification),
for tests that compare dissected messages with what tshark counts."""

from __future__ import annotations

from dpi.observer import Observer
from protocols.base import Message


class MessageRecorder(Observer):
    def __init__(self) -> None:
        self.messages: list[Message] = []

    def message(self, flow: object, message: Message) -> None:  # type: ignore[override]
        self.messages.append(message)
