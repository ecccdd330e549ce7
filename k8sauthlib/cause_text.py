"""The cause table as text for readers: the book's troubleshooting table and a notebook's explanation.

:func:`table` gives one row per cause of :data:`k8sauthlib.causes.CAUSES` in English or Korean,
:func:`markdown_table` renders it for the troubleshooting appendix (options as code spans), and
:func:`explain` wraps one cause and its fix for a notebook's output box, counting Hangul as two
columns.
"""

from __future__ import annotations

import re
import unicodedata

from .cause_kinds import SOURCES
from .causes import CAUSES, cause


def table(lang="en"):
    """The cause table for the book: one dict per cause.

    Args:
        lang: ``"en"`` or ``"ko"``.

    Returns:
        A list of ``{"key", "cause", "fix", "signs": [(source label, text), ...], "severity"}``.
    """
    rows = []
    for c in CAUSES:
        signs = []
        for s in c.signs:
            label = SOURCES[s.source][1 if lang == "ko" else 0]
            if s.shown == "":
                continue  # a catch-all matcher: the rows above it show the real messages
            text = s.shown or s.text
            text = text if s.exit_code in (None, 0) or s.source != "curl" else f"({s.exit_code}) {text}"
            if (label, text) not in signs:
                signs.append((label, text))
        rows.append(
            {
                "key": c.key,
                "cause": c.title_ko if lang == "ko" else c.title,
                "fix": c.fix_ko if lang == "ko" else c.fix,
                "signs": signs,
                "severity": c.severity,
            }
        )
    return rows


#: What must be a code span in the Markdown table: Sphinx's smart quotes would turn ``--cacert``
#: into an en dash and ``verify='ca.pem'`` into curly quotes everywhere else. Options with two
#: dashes with their file or address argument (``--cacert ca.pem``), ``name='value'`` /
#: ``name=...`` arguments, and 'quoted' phrases. ASCII only: a Korean particle stays outside.
_CODE_IN_PROSE = re.compile(r"\w+=(?:'[^']*'|\.\.\.)|'[^']*'|[\w./:-]*--[\w-]+(?: (?!-)[\w./:-]*[\w/])?", re.ASCII)


def _code_spans(text):
    return _CODE_IN_PROSE.sub(lambda m: f"`{m.group(0)}`", text)


def markdown_table(lang="ko"):
    """:func:`table` as a Markdown table (symptoms | cause | fix) for the troubleshooting appendix.

    Command-line options and arguments in the cause and fix texts become code spans, so the
    rendered book shows them exactly as typed.
    """
    head = (
        ("| 증상 | 원인 | 해결 |", "|---|---|---|") if lang == "ko" else ("| Symptom | Cause | Fix |", "|---|---|---|")
    )
    lines = list(head)
    for row in table(lang):
        signs = "<br>".join(f"{label}: `{text}`" for label, text in row["signs"])
        lines.append(f"| {signs} | {_code_spans(row['cause'])} | {_code_spans(row['fix'])} |".replace("\n", " "))
    return "\n".join(lines) + "\n"


def _columns(text):
    """Terminal columns of ``text``: wide characters (Hangul, CJK) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _wrap(text, width, indent):
    lines = [""]
    for word in text.split(" "):
        if lines[-1] and _columns(lines[-1] + " " + word) > width:
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}" if lines[-1] else word
    return ("\n" + indent).join(lines)


def explain(cause_or_key, lang="ko", width=70):
    """The cause and its fix as a few lines for a notebook's output box.

    Args:
        cause_or_key: a :class:`Cause`, a diagnosis (anything with a ``key``) or a cause key.
        lang: ``"ko"`` or ``"en"``.
        width: columns per line; lines break between words, Hangul counting two columns.

    Returns:
        Three parts on their own lines: ``[key]``, then ``원인: ...`` and ``해결: ...``
        (``Cause:`` and ``Fix:`` in English).
    """
    c = cause(getattr(cause_or_key, "key", cause_or_key))
    title, fix = (c.title_ko, c.fix_ko) if lang == "ko" else (c.title, c.fix)
    labels = ("원인: ", "해결: ") if lang == "ko" else ("Cause: ", "Fix: ")
    indent = " " * max(_columns(label) for label in labels)
    return f"[{c.key}]\n{labels[0]}{_wrap(title, width, indent)}\n{labels[1]}{_wrap(fix, width, indent)}"


__all__ = ["explain", "markdown_table", "table"]
