"""Reading what nginx logged: ``logs/error.log``, ``logs/access.log`` and its captured stderr.

:class:`~k8sauthlib.Nginx` reads its logs through these: :func:`read_lines` (a missing log is
empty: nginx creates it lazily), :func:`wait_for_line` (nginx logs a request in its log phase,
after the response went out, so a client can look a moment too early) and :func:`problem_lines`
(the lines that explain a failed start).
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import NginxError


def read_lines(path, contains=None):
    """The non-blank lines of a log file (none when it does not exist yet).

    Args:
        contains: keep only lines containing this text.
    """
    try:
        text = Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return []
    lines = [l for l in text.splitlines() if l.strip()]
    if contains is not None:
        lines = [l for l in lines if contains in l]
    return lines


def wait_for_line(path, contains="", *, after=0, timeout=5.0):
    """Wait until the log at ``path`` has a line containing ``contains`` after its first ``after``
    lines, and return the newest such line.

    Raises:
        NginxError: no such line within ``timeout`` seconds (the last lines seen attached).
    """
    deadline = time.monotonic() + timeout
    while True:
        lines = read_lines(path)[after:]
        matches = [line for line in lines if contains in line]
        if matches:
            return matches[-1]
        if time.monotonic() >= deadline:
            raise NginxError(
                f"no line containing {contains!r} in {path} after line "
                f"{after} within {timeout} s; send the request first, or check "
                "that it reached this nginx",
                log_lines=lines[-3:],
            )
        time.sleep(0.02)


def problem_lines(error_log, stderr_log):
    """nginx's ``[emerg]``, ``[alert]``, ``[crit]`` and ``[error]`` lines, for a failed start.

    The same messages go to stderr and to error.log; the log is preferred (it has timestamps and
    survives), stderr is the fallback for errors before the configuration was read.
    """
    problems = [l for l in read_lines(error_log) if any(f"[{lvl}]" in l for lvl in ("emerg", "alert", "crit", "error"))]
    return problems or read_lines(stderr_log)


__all__ = ["problem_lines", "read_lines", "wait_for_line"]
