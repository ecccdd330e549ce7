"""HTTP/1.1 requests read as Go's ``net/http`` server reads them, and responses written in one piece.

The lab's server (:mod:`k8sauthlib.lab.server`) feeds the bytes a connection delivers into a
:class:`RequestReader`, which says "need more" or hands back a complete request, so that a
connection waiting for bytes holds no thread. Where Go's server (Go 1.23, the Go of
kube-apiserver 1.32) and a lenient reader would disagree, the lab answers as Go does:

* ``Transfer-Encoding``: honoured only on HTTP/1.1 and later, only as one field whose value is
  ``chunked``; anything else is ``501 Not Implemented`` with the body ``Unsupported transfer
  encoding`` (``transferReader.parseTransferEncoding`` in ``net/http/transfer.go``; the answer
  is written by ``(*conn).serve`` in ``net/http/server.go``). With ``chunked``, a
  ``Content-Length`` is ignored.
* ``Content-Length``: several fields must agree after trimming, else 400; the value is parsed
  with ``strconv.ParseUint(cl, 10, 63)``, so a sign, an underscore, a blank or an overflow is
  400 (``fixLength`` and ``parseContentLength`` in ``transfer.go``).
* Lines may end in CRLF or a bare LF (``net/textproto.Reader.ReadLine``); header names must
  be tokens, with no space before the colon; values lose surrounding spaces and tabs and may
  not hold control characters (``textproto.Reader.ReadMIMEHeader``). One difference, on the
  strict side: a header line folded onto the next (obsolete line folding, which Go still
  joins) is a 400 here; no HTTP client of today sends one.
* The request line is ``METHOD SP URI SP HTTP/x.y``; the version must parse
  (``http.ParseHTTPVersion``) and have major version 1, else ``505 HTTP Version Not
  Supported: unsupported protocol version``; HTTP/1.1 needs exactly one ``Host`` field
  (``400 Bad Request: missing required Host header`` / ``too many Host headers``)
  (``(*conn).readRequest`` in ``server.go``).
* ``Expect`` other than ``100-continue`` is ``417 Expectation Failed`` (``sendExpectationFailed``);
  a ``Host`` with bytes outside ``httpguts.ValidHostHeader``'s set is ``400 Bad Request:
  malformed Host header``.
* Headers larger than ``MaxHeaderBytes`` (1 MiB, kube-apiserver's ``secure_serving.go``)
  are ``431 Request Header Fields Too Large``.

A header named twice keeps both values, as Go's ``http.Header`` does: ``headers[name]`` is the
first (``Header.Get``) and :meth:`HeaderDict.get_all` gives every one (``Header.Values``).
"""

import email.utils
import re
import time

MAX_HEADER_BYTES = 1 << 20  # kube-apiserver's http.Server MaxHeaderBytes (secure_serving.go)
MAX_BODY_BYTES = 3 << 20  # the lab's reviews and objects are small; kube-apiserver allows more

#: Go's ``http.StatusText`` for the codes the lab answers with.
STATUS_TEXT = {
    100: "Continue",
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    417: "Expectation Failed",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}

_ERROR_HEADERS = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
_HEAD_END = re.compile(rb"\n\r?\n")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_VERSION = re.compile(r"HTTP/(\d)\.(\d)\Z")
_DIGITS = re.compile(r"[0-9]+\Z")
_HOST = re.compile(r"[0-9A-Za-z!$%&'()*+,\-.:;=\[\]_~]*\Z")


class BadRequest(Exception):
    """A request Go's server refuses before any handler runs; :meth:`answer` is Go's reply."""

    def __init__(self, status=400, detail=""):
        super().__init__(detail or STATUS_TEXT.get(status, ""))
        self.status = status
        self.detail = detail

    def answer(self):
        text = STATUS_TEXT.get(self.status, "")
        if self.status == 417:
            # server.go sendExpectationFailed: an ordinary empty response, then close.
            return (
                f"HTTP/1.1 417 {text}\r\nConnection: close\r\nContent-Length: 0\r\nDate: {http_date()}\r\n\r\n"
            ).encode()
        if self.status == 501:
            # server.go: the transfer coding is not echoed back.
            return f"HTTP/1.1 501 {text}{_ERROR_HEADERS}Unsupported transfer encoding".encode()
        public = f"{self.status} {text}" + (f": {self.detail}" if self.detail else "")
        return f"HTTP/1.1 {public}{_ERROR_HEADERS}{public}".encode("utf-8", "replace")


class HeaderDict(dict):
    """Request headers: lower-case name -> first value, plus every value by :meth:`get_all`."""

    __slots__ = ("_all",)

    def __init__(self):
        super().__init__()
        self._all = {}

    def add(self, name, value):
        key = name.lower()
        values = self._all.get(key)
        if values is None:
            self._all[key] = [value]
            self[key] = value
        else:
            values.append(value)

    def get_all(self, name):
        """Every value of a header named more than once, in order (Go's ``Header.Values``)."""
        return list(self._all.get(name.lower(), ()))


class ParsedRequest:
    __slots__ = ("method", "target", "version", "headers", "keep_alive", "body")

    def __init__(self, method, target, version, headers, keep_alive, body=b""):
        self.method, self.target, self.version = method, target, version
        self.headers, self.keep_alive, self.body = headers, keep_alive, body


def parse_head(head):
    """Parse a request head (request line and header lines, without the empty line)."""
    try:
        text = head.decode("iso-8859-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise BadRequest() from None
    lines = text.split("\n")
    line = lines[0][:-1] if lines[0].endswith("\r") else lines[0]
    method, sp1, rest = line.partition(" ")
    target, sp2, proto = rest.partition(" ")
    if not sp1 or not sp2:
        raise BadRequest()  # "malformed HTTP request"
    if proto in ("HTTP/1.1", "HTTP/1.0"):
        major, minor = 1, int(proto[-1])
    else:
        match = _VERSION.match(proto)
        if not match:
            raise BadRequest()  # "malformed HTTP version"
        major, minor = int(match.group(1)), int(match.group(2))
    if not _TOKEN.match(method):
        raise BadRequest()  # "invalid method"
    if not target.startswith("/") and target != "*":
        raise BadRequest()  # url.ParseRequestURI
    headers = HeaderDict()
    for raw in lines[1:]:
        if raw.endswith("\r"):
            raw = raw[:-1]
        name, sep, value = raw.partition(":")
        if not sep or not _TOKEN.match(name):
            raise BadRequest()  # "malformed MIME header line"
        value = value.strip(" \t")
        if _BAD_VALUE.search(value):
            raise BadRequest()
        headers.add(name, value)
    if major != 1:
        raise BadRequest(505, "unsupported protocol version")
    version = f"HTTP/{major}.{minor}"
    at_least_11 = minor >= 1
    hosts = headers.get_all("host")
    if at_least_11 and not hosts:
        raise BadRequest(400, "missing required Host header")
    if len(hosts) > 1:
        raise BadRequest(400, "too many Host headers")
    if hosts and not _HOST.match(hosts[0]):
        raise BadRequest(400, "malformed Host header")  # httpguts.ValidHostHeader
    connection = ",".join(headers.get_all("connection")).lower()
    tokens = {t.strip() for t in connection.split(",")}
    keep_alive = ("close" not in tokens) if at_least_11 else ("keep-alive" in tokens)
    return ParsedRequest(method, target, version, headers, keep_alive), at_least_11


def body_framing(headers, at_least_11):
    """``("chunked", None)`` or ``("length", n)`` as ``transfer.go`` decides it."""
    encodings = headers.get_all("transfer-encoding")
    if encodings and at_least_11:  # HTTP/1.0: ignored (Go issue 12785)
        if len(encodings) != 1 or encodings[0].lower() != "chunked":
            raise BadRequest(501)  # unsupportedTEError
        return "chunked", None
    lengths = [v.strip(" \t") for v in headers.get_all("content-length")]
    if not lengths:
        return "length", 0
    if any(v != lengths[0] for v in lengths[1:]):
        raise BadRequest()  # "http: message cannot contain multiple Content-Length headers"
    if not _DIGITS.match(lengths[0]) or int(lengths[0]) >= 1 << 63:
        raise BadRequest()  # "bad Content-Length" / "invalid empty Content-Length"
    length = int(lengths[0])
    if length > MAX_BODY_BYTES:
        raise BadRequest(413)
    return "length", length


class RequestReader:
    """Incremental request reading over a connection's receive buffer (a ``bytearray``)."""

    __slots__ = ("_request", "_framing", "_remaining", "_chunks", "_chunk_state", "continue_due")

    def __init__(self):
        self.reset()

    def reset(self):
        self._request = None
        self._framing = None
        self._remaining = 0
        self._chunks = None
        self._chunk_state = "size"
        self.continue_due = False

    @property
    def started(self):
        """True once a request head has been read and its body is awaited."""
        return self._request is not None

    def feed(self, buf):
        """Consume from ``buf`` what it can; a :class:`ParsedRequest` when one is complete, else None.

        Raises:
            BadRequest: the request is malformed (the caller writes :meth:`BadRequest.answer`
                and closes the connection).
        """
        if self._request is None:
            # Stray CRLFs before a request line (RFC 9112 2.2; Go skips them after a POST).
            skip = 0
            while skip < len(buf) and buf[skip] in (13, 10):
                skip += 1
            if skip:
                del buf[:skip]
            match = _HEAD_END.search(buf)
            if match is None:
                if len(buf) > MAX_HEADER_BYTES:
                    raise BadRequest(431)
                return None
            if match.start() > MAX_HEADER_BYTES:
                raise BadRequest(431)
            head = bytes(buf[: match.start()])
            del buf[: match.end()]
            request, at_least_11 = parse_head(head)
            expect = request.headers.get("expect", "")
            if expect and "100-continue" not in {t.strip().lower() for t in expect.split(",")}:
                raise BadRequest(417)  # server.go: sendExpectationFailed
            self._framing, self._remaining = body_framing(request.headers, at_least_11)
            self._request = request
            has_body = self._framing == "chunked" or self._remaining > 0
            self.continue_due = has_body and at_least_11 and bool(expect)
            if self._framing == "chunked":
                self._chunks = bytearray()
        if self._framing == "length":
            if len(buf) < self._remaining:
                return None
            self._request.body = bytes(buf[: self._remaining])
            del buf[: self._remaining]
        elif not self._read_chunks(buf):
            return None
        request = self._request
        self.reset()
        return request

    def _read_chunks(self, buf):
        while True:
            if self._chunk_state == "size":
                end = buf.find(b"\n")
                if end < 0:
                    if len(buf) > 4096:
                        raise BadRequest()
                    return False
                line = bytes(buf[:end]).rstrip(b"\r").split(b";")[0].strip()
                if not line or len(line) > 16 or not all(c in b"0123456789abcdefABCDEF" for c in line):
                    raise BadRequest()
                size = int(line, 16)
                del buf[: end + 1]
                if size == 0:
                    self._chunk_state = "trailer"
                    continue
                if len(self._chunks) + size > MAX_BODY_BYTES:
                    raise BadRequest(413)
                self._remaining = size
                self._chunk_state = "data"
            elif self._chunk_state == "data":
                if len(buf) < self._remaining + 2:
                    return False
                data_end = self._remaining
                if buf[data_end : data_end + 2] != b"\r\n":
                    raise BadRequest()  # chunked.go: "malformed chunked encoding"
                tail = 2
                self._chunks += buf[:data_end]
                del buf[: data_end + tail]
                self._chunk_state = "size"
            else:  # trailer section: header lines until an empty line
                if buf[:2] == b"\r\n" or buf[:1] == b"\n":
                    del buf[: 2 if buf[:1] == b"\r" else 1]
                    self._request.body = bytes(self._chunks)
                    return True
                match = _HEAD_END.search(buf)
                if match is None:
                    if len(buf) > MAX_HEADER_BYTES:
                        raise BadRequest(431)
                    return False
                del buf[: match.end()]  # trailers are not used
                self._request.body = bytes(self._chunks)
                return True


_date_cache = [0, ""]


def http_date():
    """The ``Date`` header value, formatted once per second."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[:] = [now, email.utils.formatdate(now, usegmt=True)]
    return _date_cache[1]


def response_bytes(status, content_type, headers, body, keep_alive, head_only, http10=False):
    """One response, status line to body, as a single bytes object (one ``send``).

    An HTTP/1.0 request that asked to keep the connection gets ``Connection: keep-alive``
    (Go's ``chunkWriter.writeHeader``)."""
    lines = [f"HTTP/1.1 {status} {STATUS_TEXT.get(status, 'status code ' + str(status))}"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines.append(f"Content-Type: {content_type}")
    lines.append(f"Date: {http_date()}")
    lines.append(f"Content-Length: {len(body)}")
    if not keep_alive:
        lines.append("Connection: close")
    elif http10:
        lines.append("Connection: keep-alive")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1")
    return data if head_only else data + body
