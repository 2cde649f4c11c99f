"""The README's synopsis ("Using it", the first `sh` block) and `dpi --help` cannot
drift apart: every subcommand and option the parser has is in the synopsis, every option
the synopsis shows exists, and `--opt a|b|c` lists exactly the parser's choices.

Synopsis conventions read here: one command per line starting with `dpi`, continued on
indented lines; `[scan options]` stands for every option of `dpi scan`; options hidden
from `--help` (deprecated spellings) are not expected."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from dpi.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
SCAN_OPTIONS = "[scan options]"
_OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
_CHOICES = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)[ =]([\w.-]+(?:\|[\w.-]+)+)")


def synopsis_block(readme: str) -> str:
    section = readme.split("\n## Using it", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, "no sh block under ## Using it"
    return match.group(1)


def synopsis_commands(block: str) -> list[str]:
    """The block's commands, continuation lines joined."""
    commands: list[str] = []
    for line in block.splitlines():
        if line.startswith("dpi"):
            commands.append(line)
        elif line.strip() and line[0].isspace() and commands:
            commands[-1] += " " + line.strip()
    return commands


def _visible(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a for a in parser._actions
        if a.option_strings and a.help != argparse.SUPPRESS and "--help" not in a.option_strings
    ]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def problems(readme: str) -> list[str]:
    """Every disagreement between the synopsis in `readme` and the parser."""
    parser = build_parser()
    subs = _subparsers(parser)
    shown: dict[str, set[str]] = {}  # "" is the top level
    choices: dict[str, dict[str, set[str]]] = {}
    for command in synopsis_commands(synopsis_block(readme)):
        words = command.split()
        name = words[1] if len(words) > 1 and not words[1].startswith("-") else ""
        options = set(_OPTION.findall(command.replace("dpi " + name, "", 1) if name else command))
        if SCAN_OPTIONS in command:
            options |= {s for a in _visible(subs["scan"]) for s in a.option_strings}
        shown.setdefault(name, set()).update(options)
        for option, listed in _CHOICES.findall(command):
            choices.setdefault(name, {})[option] = set(listed.split("|"))
    found: list[str] = []
    for name in sorted(set(subs) - set(shown)):
        found.append(f"dpi {name}: not in the synopsis")
    for name in sorted(set(shown) - set(subs) - {""}):
        found.append(f"dpi {name}: in the synopsis, not a subcommand")
    for name, options in sorted(shown.items()):
        sub = subs.get(name) if name else parser
        if sub is None:
            continue
        actions = _visible(sub)
        known = {s for a in actions for s in a.option_strings} | {"-h", "--help"}
        for action in actions:
            if not options & set(action.option_strings):
                found.append(f"dpi {name}: {'/'.join(action.option_strings)} missing from the synopsis")
        for option in sorted(options - known):
            found.append(f"dpi {name}: {option} in the synopsis is not an option")
        by_string = {s: a for a in actions for s in a.option_strings}
        for option, listed in choices.get(name, {}).items():
            action = by_string.get(option)
            if action is not None and action.choices is not None and set(action.choices) != listed:
                found.append(f"dpi {name}: {option} lists {sorted(listed)}, the parser {sorted(action.choices)}")
    return found


def test_readme_synopsis_matches_the_parser() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert problems(readme) == []


def test_the_check_finds_drift() -> None:
    """The comparison itself: a synopsis missing an option, naming one that does not
    exist, listing wrong choices or lacking a subcommand is caught."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = synopsis_block(readme)
    broken = readme.replace(block, block.replace("[--no-progress]", "[--no-such-option]", 1))
    assert "dpi scan: --no-progress missing from the synopsis" in problems(broken)
    assert "dpi scan: --no-such-option in the synopsis is not an option" in problems(broken)
    dropped = "\n".join(line for line in block.splitlines() if not line.startswith("dpi diff"))
    assert "dpi diff: not in the synopsis" in problems(readme.replace(block, dropped + "\n"))
    wrong = readme.replace(block, block.replace("table|json|xlsx", "table|json", 1))
    assert any("--format lists" in p for p in problems(wrong))
