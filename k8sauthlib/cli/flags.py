"""cfssl-style flags (``-flag=value`` or ``-flag value``, Go's ``flag`` package), logging and I/O helpers
shared by the cfssl-compatible commands."""

from __future__ import annotations

import sys
import time

from ..errors import PROG, K8sAuthError, UsageError


class Flags:
    """A tiny parser for Go's ``flag`` package syntax, which cfssl uses.

    Accepts ``-name``, ``--name``, ``-name=value`` and ``-name value``; boolean flags take no
    separate value (``-bare``, ``-initca=true``). ``--`` ends the flags; ``-`` alone is an
    argument (standard input). Unlike Go, flags may also follow the positional arguments.
    """

    def __init__(self, command: str, usage: str, flags: dict[str, tuple[str, str]]):
        # flags: name -> (kind "bool"|"str", help)
        self.command = command
        self.usage = usage
        self.flags = flags

    def help_text(self) -> str:
        lines = [f"usage: {PROG} {self.command} {self.usage}", "", "flags:"]
        for name, (kind, text) in self.flags.items():
            lines.append(f"  -{name}{'' if kind == 'bool' else ' VALUE'}".ljust(24) + text)
        return "\n".join(lines) + "\n"

    def parse(self, argv: list[str]) -> tuple[dict, list[str]] | None:
        """Return (values, positional), or None when help was asked for (help is printed)."""
        values: dict = {name: (False if kind == "bool" else None) for name, (kind, _) in self.flags.items()}
        positional: list[str] = []
        i = 0
        while i < len(argv):
            arg = argv[i]
            i += 1
            if arg == "--":
                positional.extend(argv[i:])
                break
            if not arg.startswith("-") or arg == "-":
                positional.append(arg)
                continue
            name, eq, value = arg.lstrip("-").partition("=")
            if name in ("h", "help"):
                sys.stdout.write(self.help_text())
                return None
            if name not in self.flags:
                known = ", ".join("-" + n for n in self.flags)
                raise UsageError(f"{self.command}: flag provided but not defined: -{name} (known flags: {known})")
            kind = self.flags[name][0]
            if kind == "bool":
                if eq and value.lower() not in ("true", "false", "1", "0", "t", "f"):
                    raise UsageError(f"{self.command}: invalid boolean value {value!r} for -{name}")
                values[name] = (value.lower() in ("true", "1", "t")) if eq else True
                continue
            if not eq:
                if i >= len(argv):
                    raise UsageError(f"{self.command}: flag needs an argument: -{name}")
                value = argv[i]
                i += 1
            values[name] = value
        return values, positional


# ------------------------------------------------------------------------------------ output
LOG_LEVELS = {"DEBUG": 0, "INFO": 1, "WARNING": 2, "ERROR": 3, "CRITICAL": 4}


class Log:
    """cfssl-style log lines on stderr: ``2026/11/29 10:00:00 [INFO] ...``."""

    def __init__(self, level: int = 1):
        self.level = level

    def __call__(self, level: str, message: str) -> None:
        if LOG_LEVELS[level] >= self.level:
            sys.stderr.write(f"{time.strftime('%Y/%m/%d %H:%M:%S')} [{level}] {message}\n")


def loglevel(value) -> int:
    if value is None:
        return 1
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"-loglevel must be a number from 0 (debug) to 5 (fatal), not {value!r}") from None


def print_json_line(obj: dict) -> None:
    from ..go.text import go_json_marshal

    sys.stdout.write(go_json_marshal(obj) + "\n")
    sys.stdout.flush()


def read_input(path: str, what: str) -> bytes:
    """Read a file, or standard input for ``-``."""
    if path == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise K8sAuthError(f"no {what} on standard input; pipe it in or give a file name")
        return sys.stdin.buffer.read()
    from ..files import read_file

    return read_file(path, what)


__all__ = ["LOG_LEVELS", "Flags", "Log", "loglevel", "print_json_line", "read_input"]
