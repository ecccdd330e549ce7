"""HTTP/2 for the lab's server, on python-hyper's ``h2`` protocol state machine.

kube-apiserver offers ``h2`` before ``http/1.1`` by ALPN (Go's ``http2.ConfigureServer``;
``k8s.io/apiserver/pkg/server/secure_serving.go`` configures it unless HTTP/2 is disabled), so
kubectl and ``curl`` speak HTTP/2 to it, and ``curl -v`` shows ``HTTP/2 200``. The lab does the
same: :class:`H2Session` turns the bytes of one TLS connection into requests for
:meth:`LabAPI.handle <k8sauthlib.lab.api.LabAPI.handle>` and its responses into frames.
``h2`` keeps the protocol's state (frames, HPACK, SETTINGS, stream states, flow-control
windows); this module feeds it bytes, answers complete requests in stream order, and sends
response bodies as the peer's flow-control windows allow.

The lab announces at most 250 concurrent streams (the default of Go's ``golang.org/x/net/http2``
server, which kube-apiserver uses unless ``--http2-max-streams-per-connection`` is set) and
answers a connection's requests one after another. A protocol error ends the connection with
GOAWAY, as Go's server does.
"""

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded, StreamReset, WindowUpdated
from h2.exceptions import ProtocolError, StreamClosedError
from h2.settings import SettingCodes

from .http1 import MAX_BODY_BYTES, HeaderDict, ParsedRequest, http_date

MAX_CONCURRENT_STREAMS = 250


class H2Closed(Exception):
    """The peer ended the connection (GOAWAY) or broke the protocol; flush, then close."""


class H2Session:
    """One HTTP/2 server connection: bytes in, complete requests out, frames to send."""

    def __init__(self):
        self._h2 = H2Connection(H2Configuration(client_side=False, header_encoding=None))
        self._streams = {}  # stream id -> [ParsedRequest, bytearray body]
        self._pending = {}  # stream id -> bytes of response body not yet sent
        self.closed = False

    def start(self):
        """The server preface (SETTINGS) to send first."""
        self._h2.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: MAX_CONCURRENT_STREAMS})
        self._h2.initiate_connection()
        return self._h2.data_to_send()

    def feed(self, data):
        """Process received bytes; return ``[(stream id, ParsedRequest)]`` of completed requests.

        Raises:
            H2Closed: the peer said GOAWAY or broke the protocol (send :meth:`data_to_send`, then close).
        """
        try:
            events = self._h2.receive_data(bytes(data))
        except ProtocolError:
            self._h2.close_connection(ErrorCodes.PROTOCOL_ERROR)
            self.closed = True
            raise H2Closed() from None
        done = []
        for event in events:
            if isinstance(event, RequestReceived):
                self._streams[event.stream_id] = [self._request(event.headers), bytearray()]
                if event.stream_ended:
                    done.append(self._finish(event.stream_id))
            elif isinstance(event, DataReceived):
                entry = self._streams.get(event.stream_id)
                self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                if entry is None:
                    continue
                entry[1] += event.data
                if len(entry[1]) > MAX_BODY_BYTES:
                    self._streams.pop(event.stream_id, None)
                    self._h2.reset_stream(event.stream_id, ErrorCodes.REFUSED_STREAM)
            elif isinstance(event, StreamEnded):
                if event.stream_id in self._streams:
                    done.append(self._finish(event.stream_id))
            elif isinstance(event, StreamReset):
                self._streams.pop(event.stream_id, None)
                self._pending.pop(event.stream_id, None)
            elif isinstance(event, WindowUpdated):
                self._send_pending()
            elif isinstance(event, ConnectionTerminated):
                self.closed = True
        if self.closed:
            raise H2Closed()
        return [d for d in done if d is not None]

    def respond(self, stream_id, response, head_only=False):
        """Queue ``response`` (an :class:`~k8sauthlib.lab.api.Response`) on ``stream_id``."""
        headers = [(b":status", str(response.status).encode())]
        headers += [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers]
        headers += [
            (b"content-type", response.content_type.encode("latin-1")),
            (b"date", http_date().encode()),
            (b"content-length", str(len(response.body)).encode()),
        ]
        body = b"" if head_only else response.body
        try:
            self._h2.send_headers(stream_id, headers, end_stream=not body)
        except StreamClosedError:
            return  # the client reset the stream meanwhile
        if body:
            self._pending[stream_id] = body
            self._send_pending()

    def data_to_send(self):
        return self._h2.data_to_send()

    @property
    def waiting(self):
        """True while a request is partly received or a response waits for the peer's window."""
        return bool(self._streams or self._pending)

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _request(raw_headers):
        pseudo, headers = {}, HeaderDict()
        for name, value in raw_headers:
            name, value = name.decode("latin-1"), value.decode("latin-1")
            if name.startswith(":"):
                pseudo[name] = value
            else:
                headers.add(name, value)
        if ":authority" in pseudo and "host" not in headers:
            headers.add("host", pseudo[":authority"])  # Go: req.Host from :authority
        return ParsedRequest(pseudo.get(":method", ""), pseudo.get(":path", "/"), "HTTP/2.0", headers, True)

    def _finish(self, stream_id):
        request, body = self._streams.pop(stream_id)
        request.body = bytes(body)
        return stream_id, request

    def _send_pending(self):
        for stream_id in list(self._pending):
            body = self._pending[stream_id]
            try:
                while body:
                    window = min(self._h2.local_flow_control_window(stream_id), self._h2.max_outbound_frame_size)
                    if window <= 0:
                        break
                    chunk, body = body[:window], body[window:]
                    self._h2.send_data(stream_id, chunk, end_stream=not body)
            except StreamClosedError:
                body = b""
            if body:
                self._pending[stream_id] = body
            else:
                del self._pending[stream_id]
