"""Go durations: ``time.ParseDuration`` and ``Duration.String``, exactly.

cfssl reads a profile's ``expiry``, a CSR request's ``ca.expiry`` and ``backdate`` with
``time.ParseDuration``; ``kubeadm kubeconfig user --validity-period`` is a pflag duration, parsed
by the same function. Both print durations with ``Duration.String``.

Source: Go 1.22, ``src/time/format.go`` (``ParseDuration``, ``leadingInt``,
``leadingFraction``, ``unitMap``) and ``src/time/time.go`` (``Duration.String``). Go counts
nanoseconds in an int64; :class:`datetime.timedelta` counts microseconds, so a parsed value is
rounded to the microsecond, after Go's range check on the exact nanoseconds.
"""

from __future__ import annotations

from datetime import timedelta

from ..errors import InputError

#: ``unitMap``: nanoseconds per unit. ``µs`` is U+00B5 (micro sign), ``μs`` U+03BC (Greek mu).
UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_MAX = 1 << 63  # Go's int64 range; uint64 arithmetic checks against it
_HINT = (
    "; write hours, minutes and seconds such as 8760h, 1h30m or 90s "
    "(Go has no day or year unit: one year is 8760h, 30 days is 720h)"
)


def _quote(s: str) -> str:
    """``time.quote``: like ``strconv.Quote`` for ASCII, but every byte of a non-ASCII or control
    character is written as ``\\xNN`` (``time`` may not import ``strconv``)."""
    out = ['"']
    for ch in s:
        if ord(ch) >= 0x80 or ch < " ":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    out.append('"')
    return "".join(out)


def _leading_int(s: str) -> tuple[int | None, str]:
    """``leadingInt``: the leading digits as an integer, or None on uint64 overflow."""
    i, x = 0, 0
    while i < len(s) and "0" <= s[i] <= "9":
        if x > _MAX // 10:
            return None, s
        x = x * 10 + ord(s[i]) - 48
        if x > _MAX:
            return None, s
        i += 1
    return x, s[i:]


def _leading_fraction(s: str) -> tuple[int, int, str]:
    """``leadingFraction``: digits after the point; stops gaining precision instead of overflowing."""
    i, x, scale, overflow = 0, 0, 1, False
    while i < len(s) and "0" <= s[i] <= "9":
        if not overflow:
            if x > (_MAX - 1) // 10:
                overflow = True
            else:
                y = x * 10 + ord(s[i]) - 48
                if y > _MAX:
                    overflow = True
                else:
                    x, scale = y, scale * 10
        i += 1
    return x, scale, s[i:]


def parse_duration(text, where: str = "duration") -> timedelta:
    """Parse a Go duration (``time.ParseDuration``): ``"8760h"``, ``"1h30m"``, ``"1.5h"``, ``"300ms"``.

    Args:
        text: the duration string; a ``timedelta`` is returned unchanged.
        where: what the value is, for the error message (``"signing.default.expiry"``).

    Raises:
        InputError: Go would refuse the text; the message quotes Go's own error
            (``time: unknown unit "d" in duration "1d"``) and says how to write it.
    """
    if isinstance(text, timedelta):
        return text
    if not isinstance(text, str):
        raise InputError(f'{where} must be a string such as "8760h", not {type(text).__name__} ({text!r})')
    orig, s = text, text

    def fail(go_error: str):
        return InputError(f"{where} {orig!r} is not a Go duration ({go_error}){_HINT}")

    invalid = f"time: invalid duration {_quote(orig)}"
    neg = False
    if s and s[0] in "+-":
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return timedelta(0)
    if not s:
        raise fail(invalid)
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise fail(invalid)
        before = len(s)
        whole, s = _leading_int(s)
        if whole is None:
            raise fail(invalid)
        pre = len(s) != before
        frac, scale, post = 0, 1, False
        if s[:1] == ".":
            s = s[1:]
            before = len(s)
            frac, scale, s = _leading_fraction(s)
            post = len(s) != before
        if not pre and not post:
            raise fail(invalid)
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise fail(f"time: missing unit in duration {_quote(orig)}")
        unit, s = s[:i], s[i:]
        if unit not in UNITS:
            raise fail(f"time: unknown unit {_quote(unit)} in duration {_quote(orig)}")
        scale_ns = UNITS[unit]
        if whole > _MAX // scale_ns:
            raise fail(invalid)
        value = whole * scale_ns
        if frac:
            # Go computes uint64(float64(f) * (float64(unit) / scale)): float64, truncated.
            value += int(float(frac) * (float(scale_ns) / scale))
            if value > _MAX:
                raise fail(invalid)
        total += value
        if total > _MAX:
            raise fail(invalid)
    if not neg and total > _MAX - 1:
        raise fail(invalid)
    micros = (total + 500) // 1000  # nearest microsecond; Go keeps the nanoseconds
    return timedelta(microseconds=-micros if neg else micros)


def format_duration(delta: timedelta) -> str:
    """``Duration.String``: ``8760h0m0s``, ``1h30m0s``, ``1.5s``, ``300ms``, ``7µs``, ``0s``."""
    us = delta // timedelta(microseconds=1)
    sign = "-" if us < 0 else ""
    us = abs(us)
    if us == 0:
        return "0s"
    if us < 1_000_000:  # under a second Go switches to the smaller units, with a fraction
        if us < 1000:
            return f"{sign}{us}µs"
        return f"{sign}{_fraction(us, 1000)}ms"
    h, rest = divmod(us, 3_600_000_000)
    m, rest = divmod(rest, 60_000_000)
    sec = _fraction(rest, 1_000_000)
    if h:
        return f"{sign}{h}h{m}m{sec}s"
    if m:
        return f"{sign}{m}m{sec}s"
    return f"{sign}{sec}s"


def _fraction(value: int, per_unit: int) -> str:
    """``value / per_unit`` written like Go's ``fmtFrac``: no trailing zeros, no point when whole."""
    whole, frac = divmod(value, per_unit)
    if not frac:
        return str(whole)
    digits = len(str(per_unit)) - 1
    return f"{whole}.{str(frac).rjust(digits, '0').rstrip('0')}"


__all__ = ["UNITS", "format_duration", "parse_duration"]


def short_human_duration(delta: timedelta) -> str:
    """apimachinery ``pkg/util/duration.ShortHumanDuration``: ``45s``, ``9m``, ``23h``, ``364d``, ``9y``.

    Up to one second in the past still reads ``0s`` (Go tolerates clock skew); earlier than
    that is ``<invalid>``: an expired certificate.
    """
    seconds = int(delta.total_seconds())  # Go's int() truncates toward zero
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    hours = seconds // 3600
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // (24 * 365)}y"
