"""What went wrong with a TLS or mutual-TLS request, and what to do about it.

This module is the one place that maps what the tools print to a cause and a fix:

* curl's exit codes and stderr (``curl: (60) SSL certificate problem: ...``),
* nginx's 400 pages (``<title>400 No required SSL certificate was sent</title>``) and its
  error-log lines (``client SSL certificate verify error: (18:self-signed certificate)``),
* Python's ``ssl`` / ``urllib3`` / ``requests`` exceptions,
* Go's (kubectl's, kube-apiserver's) messages (``x509: certificate signed by unknown authority``,
  ``error: You must be logged in to the server (Unauthorized)``).

The causes themselves (English and Korean) are the table in :mod:`k8sauthlib.causes`.
:class:`k8sauthlib.tls.client.MTLSClient` turns a :class:`Diagnosis` into an exception; notebooks
and tests run the real curl through :func:`run_curl` and get the mapped cause with the result.
"""

from __future__ import annotations

import re
import shlex
import ssl
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..causes import CAUSES, SIGNATURE_REJECTED, Cause, Sign, cause

__all__ = [
    "CurlResult",
    "Diagnosis",
    "make_diagnosis",
    "diagnose_curl",
    "diagnose_exception",
    "diagnose_nginx_log",
    "diagnose_response",
    "diagnose_text",
    "nginx_page_title",
    "run_curl",
]


@dataclass(frozen=True)
class Diagnosis:
    """A cause found in some output, with the evidence that points to it.

    Attributes:
        cause: the :class:`Cause`.
        source: where it was seen (a key of :data:`SOURCES`).
        evidence: the line of output that matched (a curl stderr line, a page title, ...).
        sign: the :class:`Sign` that matched (``None`` when the diagnosis was made otherwise).
    """

    cause: Cause
    source: str
    evidence: str
    sign: Sign | None = None

    @property
    def key(self):
        return self.cause.key

    @property
    def detail(self):
        """What the matched sign says beyond the cause's title (:attr:`Sign.meaning`), or ``None``."""
        return self.sign.meaning if self.sign is not None else None

    @property
    def headline(self):
        """One line naming what went wrong: the sign's :attr:`detail` when it has one (more
        precise), else the cause's title."""
        if self.detail:
            return self.detail[0].upper() + self.detail[1:]
        return self.cause.title

    def __str__(self):
        # curl's lines already start with "curl: "; do not print "curl: curl: (60) ..."
        evidence = self.evidence
        if not evidence.lower().startswith(self.source.lower() + ":"):
            evidence = f"{self.source}: {evidence}"
        return f"{self.headline} [{evidence}]. {self.cause.fix}"


def _match(source, output, exit_code=None):
    for c in CAUSES:
        for sign in c.signs:
            if sign.source != source:
                continue
            if (
                source == "curl"
                and sign.exit_code is not None
                and exit_code is not None
                and sign.exit_code != exit_code
            ):
                continue
            if sign.matches(output):
                return Diagnosis(c, source, _evidence_line(output, sign), sign)
    return None


def _evidence_line(output, sign):
    needle = sign.pattern or re.escape(sign.text)
    for line in output.splitlines():
        if re.search(needle, line, re.IGNORECASE):
            return line.strip()
    return output.strip().splitlines()[0] if output.strip() else ""


_TITLE = re.compile(r"<title>\s*(.*?)\s*</title>", re.IGNORECASE | re.DOTALL)


def nginx_page_title(body):
    """The ``<title>`` of an HTML page (nginx's error pages say the cause there), or ``None``."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    m = _TITLE.search(body or "")
    return m.group(1) if m else None


def diagnose_nginx_log(lines):
    """Map nginx error-log lines to a cause (the last line that matches wins: it is the newest).

    Args:
        lines: lines of nginx's ``error.log`` (e.g. :meth:`Nginx.error_log_lines`).

    Returns:
        A :class:`Diagnosis`, or ``None``.
    """
    found = None
    for line in lines:
        d = _match("nginx-log", line)
        if d is not None:
            found = d
    return found


def diagnose_response(status, body, *, nginx_log=()):
    """Map an HTTP response (nginx's 400 pages, Kubernetes 401/403) to a cause.

    Args:
        status: the HTTP status code.
        body: the response body (str or bytes).
        nginx_log: nginx error-log lines that refine "400 The SSL certificate error" into the
            exact reason (expired, wrong usage, ...).

    Returns:
        A :class:`Diagnosis`, or ``None`` for a response that is not a known failure.
    """
    title = nginx_page_title(body)
    if title:
        d = _match("nginx-page", title)
        if d is not None:
            if d.key == "client-cert-rejected" and nginx_log:
                refined = diagnose_nginx_log(nginx_log)
                if refined is not None:
                    return refined
            return d
    if status == 400:
        # Go's net/http (kube-apiserver, the lab) answers a plain-HTTP request on its TLS port
        # with a bare 400 whose body is this sentence (net/http/server.go, conn.serve)
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        if "Client sent an HTTP request to an HTTPS server" in text:
            return _match("go", text)
    if status in (401, 403):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        # any 401 is a failed authentication; a 403 only when it is Kubernetes' Status object
        # (other servers answer 403 for reasons that have nothing to do with RBAC)
        if status == 401 or ('"kind"' in text and "Status" in text):
            # the Status message is JSON-escaped in the body: User \"system:anonymous\"
            if status == 403 and re.search(r'User \\?"system:anonymous\\?"', text):
                return _match("http", '403 Forbidden: User "system:anonymous"')
            return _match("http", "401 Unauthorized" if status == 401 else "403 Forbidden")
    return None


def diagnose_text(text, source="go"):
    """Map a tool's message (kubectl/Go by default) to a cause.

    Args:
        text: the message, e.g. ``Unable to connect to the server: tls: failed to verify
            certificate: x509: certificate signed by unknown authority``.
        source: a key of :data:`SOURCES`.

    Returns:
        A :class:`Diagnosis`, or ``None``.
    """
    if source == "nginx-log":
        return diagnose_nginx_log(text.splitlines())
    return _match(source, text)


_INSECURE_FLAGS = ("-k", "--insecure")


def diagnose_curl(returncode, stderr, body=None, *, args=()):
    """Map a curl run to a cause.

    Args:
        returncode: curl's exit code (0 also for HTTP errors unless ``--fail``).
        stderr: curl's standard error (use ``-sS`` so it holds only errors).
        body: the response body, for nginx's 400 pages when curl exited 0.
        args: curl's arguments; ``-k``/``--insecure`` on a success gives the
            ``verification-disabled`` warning.

    Returns:
        A :class:`Diagnosis`, or ``None`` when nothing is wrong.
    """
    if returncode != 0:
        stderr = stderr or ""
        d = _match("curl", stderr, returncode)
        if d is not None and d.key == "client-key-mismatch":
            if d.detail == SIGNATURE_REJECTED:
                # only a client that sent a certificate signed the handshake; without one the
                # server's decrypt_error alert is about something else
                if args and _option_value(args, "--cert", "-E") is None:
                    return Diagnosis(cause("tls-handshake-failed"), "curl", d.evidence)
            else:
                # curl says "unable to set private key file" for a missing key file too
                key_file = _option_value(args, "--key")
                if key_file is not None and not Path(key_file).is_file():
                    return Diagnosis(cause("client-cert-unreadable"), "curl", d.evidence)
        if d is None and returncode in (35, 56):
            first = stderr.strip().splitlines()[0] if stderr.strip() else f"exit code {returncode}"
            d = Diagnosis(cause("tls-handshake-failed"), "curl", first)
        return d
    if body is not None:
        d = diagnose_response(None, body)
        if d is not None:
            return d
    if any(a in _INSECURE_FLAGS or (a.startswith("-") and not a.startswith("--") and "k" in a[1:]) for a in args):
        return Diagnosis(cause("verification-disabled"), "curl", "curl -k / --insecure")
    return None


def _option_value(args, *options):
    """The value of the first of ``options`` found in ``args`` (``--key k.pem``,
    ``--key=k.pem``, ``-Ek.pem`` for a short option), or ``None``."""
    args = list(args)
    for i, a in enumerate(args):
        for option in options:
            if a == option and i + 1 < len(args):
                return args[i + 1]
            if option.startswith("--") and a.startswith(option + "="):
                return a.split("=", 1)[1]
            if not option.startswith("--") and a.startswith(option) and len(a) > len(option):
                return a[len(option) :]
    return None


def _exception_chain(exc):
    """The exception and everything it wraps (cause, context, urllib3's ``reason``, args)."""
    seen, todo, out = set(), [exc], []
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        out.append(e)
        reason = getattr(e, "reason", None)  # urllib3's MaxRetryError keeps the real error here
        if isinstance(reason, BaseException):
            todo.append(reason)
        todo.append(e.__cause__)
        todo.append(e.__context__)
        todo.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
    return out


# OpenSSL X509_V_ERR_* codes on ssl.SSLCertVerificationError.verify_code
_VERIFY_CODES = {
    2: "unknown-authority",
    18: "unknown-authority",
    19: "unknown-authority",
    20: "unknown-authority",
    21: "unknown-authority",
    9: "cert-expired",
    10: "cert-expired",
    26: "wrong-key-usage",
    62: "hostname-mismatch",
    64: "hostname-mismatch",
}


def diagnose_exception(exc):
    """Map a Python exception (``ssl``, ``urllib3``, ``requests``, ``OSError``) to a cause.

    Looks through the whole chain of wrapped exceptions (``requests`` wraps ``urllib3`` wraps
    ``ssl``) and prefers the most specific information: OpenSSL's verify code, then the texts.

    Returns:
        A :class:`Diagnosis`, or ``None``.
    """
    chain = _exception_chain(exc)
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError) and e.verify_code in _VERIFY_CODES:
            return Diagnosis(
                cause(_VERIFY_CODES[e.verify_code]),
                "python",
                f"{e.verify_message} (OpenSSL verify code {e.verify_code})",
            )
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return _match("python", "Connection refused")
    # the innermost texts are the most precise; the generic catch-all only when nothing else
    generic = None
    for e in reversed(chain):
        d = _match("python", f"{type(e).__name__}: {e}")
        if d is not None and d.key != "tls-handshake-failed":
            return d
        generic = generic or d
    return generic


@dataclass
class CurlResult:
    """What one run of the real curl gave.

    Attributes:
        args: the arguments as given (without the ones :func:`run_curl` adds).
        returncode: curl's exit code.
        stdout: the response body, decoded as UTF-8.
        stderr: curl's error output.
        http_code: the HTTP status (``0`` when no response came back).
        cause: the :class:`Diagnosis` (``None`` when nothing went wrong).
    """

    args: list
    returncode: int
    stdout: str
    stderr: str
    http_code: int
    cause: Diagnosis | None = None
    _command: str = field(default="", repr=False)

    @property
    def ok(self):
        """True for exit code 0 and a 2xx response."""
        return self.returncode == 0 and 200 <= self.http_code < 300

    @property
    def command(self):
        """The command line as a reader would type it."""
        return self._command

    @property
    def title(self):
        """The HTML ``<title>`` of the body (nginx's error pages), or ``None``."""
        return nginx_page_title(self.stdout)

    def __str__(self):
        head = f"$ {self.command}\nexit {self.returncode}, HTTP {self.http_code or '-'}"
        if self.cause is not None:
            head += f"\ncause: {self.cause}"
        return head


def run_curl(args, *, curl="curl", timeout=30):
    """Run the real curl and map its outcome to a cause.

    ``-sS`` is added (no progress meter, errors still shown) and the body is written to a
    temporary file so the HTTP status can be read from ``--write-out`` without mixing.

    Args:
        args: curl's arguments, e.g. ``["--cacert", "ca.pem", "https://localhost:8443/"]``.
        curl: the curl executable.
        timeout: seconds before the run is abandoned.

    Returns:
        A :class:`CurlResult`.
    """
    args = [str(a) for a in args]
    with tempfile.TemporaryDirectory(prefix="k8sauth-curl-") as tmp:
        body_path = Path(tmp) / "body"
        proc = subprocess.run(
            [curl, "-sS", "-o", str(body_path), "-w", "%{http_code}", *args],
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        body = body_path.read_bytes().decode("utf-8", "replace") if body_path.exists() else ""
    out = proc.stdout.decode("utf-8", "replace").strip()
    stderr = proc.stderr.decode("utf-8", "replace")
    http_code = int(out) if out.isdigit() else 0
    diagnosis = diagnose_curl(proc.returncode, stderr, body, args=args)
    return CurlResult(args, proc.returncode, body, stderr, http_code, diagnosis, _command=shlex.join(["curl", *args]))


def make_diagnosis(key, evidence, source="python") -> Diagnosis:
    """The :class:`Diagnosis` for a known cause ``key``, with what was seen (``evidence``) and where."""
    return Diagnosis(cause(key), source, evidence)
