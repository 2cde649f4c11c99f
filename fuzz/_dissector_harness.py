"""The one atheris harness for every dissector; `fuzz/fuzz_<target>.py` names which.

Input: the conversation encoding of fuzz/_common.py (direction, data or gap, close).
Finding: any exception but ProtocolError, a ProtocolError quoting input bytes, a
non-list return or a malformed event. Nothing of `dpi` or `protocols` may be imported
before `run`: atheris instruments only modules imported inside its block.
"""

from __future__ import annotations


def run(dissector: str, target: str) -> None:
    """Fuzz the dissector registered as `dissector`; `target` names its corpus."""
    import atheris

    with atheris.instrument_imports(include=["protocols", "dpi"]):
        from dpi.registry import dissector_by_name, dissector_classes
        from fuzz._common import (
            decode_conversation,
            dissector_seeds,
            fuzz_main,
            probe_all,
            run_dissector,
        )

        dissector_classes()  # imports every dissector module under instrumentation
        found = dissector_by_name(dissector)
    if found is None:
        raise SystemExit(f"no dissector named {dissector!r}")
    cls = found

    def test_one_input(data: bytes) -> None:
        conversation = decode_conversation(data)
        if conversation and isinstance(conversation[0][2], bytes):
            probe_all(conversation[0][2][:512])
        run_dissector(cls, conversation)

    fuzz_main(target, test_one_input, lambda: dissector_seeds(dissector))
