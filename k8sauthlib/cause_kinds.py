"""The two records of :mod:`k8sauthlib.causes`: a :class:`Sign` (what a tool prints) and a :class:`Cause`
(a reason, with its fix in English and Korean), and :data:`SOURCES`, the tools a sign is seen in."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Where a sign is seen: the keys of :attr:`Sign.source`.
SOURCES = {
    "curl": ("curl (exit code, stderr)", "curl (종료 코드, stderr)"),
    "nginx-page": ("nginx 400 page", "nginx 400 응답 페이지"),
    "nginx-log": ("nginx error.log", "nginx error.log"),
    "python": ("Python ssl / requests", "Python ssl / requests"),
    "go": ("kubectl / Go (x509, tls)", "kubectl / Go (x509, tls)"),
    "http": ("HTTP status", "HTTP 상태 코드"),
    "apiserver-log": ("kube-apiserver log", "kube-apiserver 로그"),
    "cfssl": ("cfssl / cfssljson", "cfssl / cfssljson"),
    "shell": ("shell (sudo, cat, cp)", "셸(sudo, cat, cp)"),
}


@dataclass(frozen=True)
class Sign:
    """One thing a tool prints for a cause.

    Attributes:
        source: a key of :data:`SOURCES`.
        text: the part of the tool's message that identifies the cause (matched
            case-insensitively as a substring unless ``pattern`` is given).
        exit_code: for curl, the exit code that goes with the text (``None``: any).
        pattern: a regular expression to match instead of ``text``.
        meaning: what this particular sign says beyond the cause's title (English), e.g.
            :data:`SIGNATURE_REJECTED`; shown in :class:`Diagnosis` messages.
        shown: the whole message as a reader meets it, for the book's table, when ``text`` is only
            a fragment (``None``: show ``text``; ``""``: a catch-all matcher left out of the table).
    """

    source: str
    text: str
    exit_code: int | None = None
    pattern: str | None = None
    meaning: str | None = None
    shown: str | None = None

    def matches(self, output):
        if self.pattern is not None:
            return re.search(self.pattern, output, re.IGNORECASE) is not None
        return self.text.lower() in output.lower()


@dataclass(frozen=True)
class Cause:
    """A reason a (mutual) TLS request fails, with the fix, in English and Korean.

    Attributes:
        key: a stable identifier, e.g. ``"unknown-authority"``.
        title: one English line naming the cause.
        fix: what to do, in English.
        title_ko: the same in Korean.
        fix_ko: the same in Korean.
        signs: what the tools print when this is the cause.
        severity: ``"error"``, or ``"warning"`` for a request that worked in an unsafe way.
    """

    key: str
    title: str
    fix: str
    title_ko: str
    fix_ko: str
    signs: tuple = ()
    severity: str = "error"

    def text(self, lang="en"):
        """``"<title>. <fix>"`` in ``lang`` (``"en"`` or ``"ko"``)."""
        if lang == "ko":
            return f"{self.title_ko}. {self.fix_ko}"
        return f"{self.title}. {self.fix}"


__all__ = ["SOURCES", "Cause", "Sign"]
