"""The lab's request log: klog-style lines on the ``k8sauthlib.lab`` logger and an in-memory ring.

Moved out of :mod:`.server`. The request line follows kube-apiserver's httplog
(``respLogger.Log`` in ``staging/src/k8s.io/apiserver/pkg/server/httplog/httplog.go``, v1.32).
"""

import collections
import logging
import os
import threading
from datetime import datetime, timedelta, timezone

from ..go.duration import format_duration
from ..go.text import go_quote

logger = logging.getLogger("k8sauthlib.lab")


class RequestLog:
    """The lab's request log: lines for the ``k8sauthlib.lab`` logger and an in-memory ring.

    Lines have klog's header, as in ``kubectl logs`` of a kube-apiserver pod
    (``E1129 10:15:35.123456   12345 lab] "Unable to authenticate the request" err="..."``),
    with ``lab`` where kube-apiserver names its source file, so that a reader can tell the two
    apart.
    """

    _LETTERS = {logging.DEBUG: "I", logging.INFO: "I", logging.WARNING: "W", logging.ERROR: "E", logging.CRITICAL: "F"}

    def __init__(self, size=2000):
        self._lines = collections.deque(maxlen=size)
        self._records = collections.deque(maxlen=size)
        self._lock = threading.Lock()

    def _emit(self, level, message, record=None):
        now = datetime.now()
        header = f"{self._LETTERS.get(level, 'I')}{now:%m%d %H:%M:%S.%f} {os.getpid():>7} lab] "
        with self._lock:
            self._lines.append((header, message))
            if record is not None:
                self._records.append(record)
        logger.log(level, "%s%s", header, message)

    def request(self, record):
        """Log one request record from :class:`~k8sauthlib.lab.api.LabAPI` (never key material).

        String values are quoted as klog's text format does (``strconv.Quote``, ``writeStringValue``
        in k8s.io/klog/v2 ``internal/serialize/keyvalues.go``; klog writes a value with a newline
        over several lines, the lab keeps one line per entry and writes ``\\n``). An impersonated
        request ends in ``addedInfo="<user[groups]> is impersonating <user[groups]>"``: the
        impersonation filter's ``httplog.LogOf(req, w).Addf`` (``staging/src/k8s.io/apiserver/pkg/endpoints/filters/impersonation.go``,
        v1.32), which ``respLogger.Log`` (``pkg/server/httplog/httplog.go``) prints last, after ``resp``.

        The fields come in ``respLogger.Log``'s order: ``verb`` (``metrics.NormalizedVerb``:
        ``LIST``, ``GET``, ``POST``, ``WATCH``, ``CONNECT``...), ``URI``, ``latency`` (a Go
        duration, from the handler's start to its answer, to the microsecond), ``userAgent``,
        ``audit-ID``, ``srcIP``, then the pairs filters add (kube-apiserver's priority-and-fairness
        ``apf_*``; the lab's own ``user``, ``groups``, ``decision``, ``authorizer`` and ``reason``,
        which kube-apiserver does not log here), then ``resp``. As in kube-apiserver, a 4xx line
        has no ``statusStack``.
        """
        q = go_quote
        if record.get("auth_error"):
            # kube-apiserver: klog.ErrorS(err, "Unable to authenticate the request")
            self._emit(logging.ERROR, f'"Unable to authenticate the request" err={q(record["auth_error"])}')
        groups = ",".join(q(g) for g in record.get("groups") or [])
        user = "<none>" if record.get("user") is None else q(record["user"])
        latency = format_duration(timedelta(seconds=record.get("latency") or 0.0))
        line = (
            f'"HTTP" verb="{record.get("log_verb") or record["verb"]}" URI={q(record["uri"])} '
            f"latency={q(latency)} userAgent={q(record.get('user_agent') or '')} "
            f'audit-ID="{record["audit_id"]}" srcIP="{record["client"]}" '
            f'user={user} groups=[{groups}] decision="{record["decision"]}" '
            f'authorizer="{record.get("authorizer") or ""}" reason={q(record.get("reason") or "")} '
            f"resp={record['status']}"
        )
        if record.get("impersonated"):
            line += f" addedInfo={q(record['impersonated'])}"
        record = dict(record, time=datetime.now(timezone.utc))
        self._emit(logging.INFO, line, record)

    def note(self, line, level=logging.INFO):
        self._emit(level, line)

    def lines(self):
        with self._lock:
            return [header + message for header, message in self._lines]

    def messages(self):
        with self._lock:
            return [message for _header, message in self._lines]

    def records(self):
        with self._lock:
            return list(self._records)

    def clear(self):
        with self._lock:
            self._lines.clear()
            self._records.clear()
