"""Every exception k8sauthlib raises on purpose, in one hierarchy (as ``requests.exceptions``).

::

    K8sAuthError
    ├── InputError (ValueError): a request, file or argument is malformed
    │   ├── UnknownUsageError, UnknownProfileError   cfssl names that do not exist
    │   └── PrivilegedReadError                      a root-only file that sudo could not read
    ├── KeyMismatchError (ValueError): a key is not the certificate's
    ├── FileExistsRefusedError (FileExistsError): we will not replace a file silently
    ├── UsageError: bad command-line usage (exit status 2)
    ├── VerificationError: a chain does not verify; ``reason`` is a cause key
    ├── NginxError (NginxNotFoundError, NginxStartError)
    ├── LabError: the lab API server cannot start (missing file, bad manifest, port in use)
    └── TLSProblem: an HTTPS request failed for a known cause (one subclass per cause)

One vocabulary: :attr:`VerificationError.reason`, :attr:`TLSProblem.key` and the troubleshooting
table (:data:`k8sauthlib.causes.CAUSES`) use the same keys; :data:`CAUSE_CLASSES` maps each
key to its exception. Every message is one sentence that names the problem and what to do.

Kept free of imports: the command line loads this module on paths that must start fast.
"""

#: The command line's name, the one prefix of every error line it prints.
PROG = "k8sauthlib"


def error_line(message) -> str:
    """The one error line every command prints: ``k8sauthlib: error: <message on one line>``."""
    return f"{PROG}: error: " + " ".join(str(message).split())


class K8sAuthError(Exception):
    """Base class for every error this library raises on purpose."""


class InputError(K8sAuthError, ValueError):
    """A request, configuration or file the user gave us is malformed or incomplete."""


class KeyMismatchError(K8sAuthError, ValueError):
    """A private key does not belong to the certificate it was paired with."""


class UnknownUsageError(InputError):
    """A cfssl usage name that neither cfssl's tables nor ours know."""


class UnknownProfileError(InputError):
    """A signing profile that the signing configuration does not define."""


class FileExistsRefusedError(K8sAuthError, FileExistsError):
    """Writing would silently replace an existing file (a private key, most importantly)."""


class VerificationError(K8sAuthError):
    """A certificate chain does not verify for the purpose asked.

    Attributes:
        reason: the cause key of Go's message (:func:`k8sauthlib.causes.go_key`), the same key
            kubectl's output of that message gets from :func:`k8sauthlib.diagnose_text`:
            ``"unknown-authority"``, ``"cert-expired"``, ``"wrong-key-usage"``,
            ``"hostname-mismatch"``, ``"not-a-ca"``, ``"path-length"``,
            ``"unhandled-critical-extension"``.
        go_message: the text Go's ``crypto/x509`` (and so kube-apiserver and kubectl)
            prints for the same failure, e.g. ``x509: certificate signed by unknown authority``.
    """

    def __init__(self, message, *, reason, go_message=None):
        super().__init__(message)
        self.reason = reason
        self.go_message = go_message or message


class UsageError(K8sAuthError):
    """Bad command-line usage: exit status 2."""


class PrivilegedReadError(InputError):
    """A root-only file could not be read, not even through ``sudo -n``."""


class LabError(K8sAuthError):
    """The lab API server (:class:`k8sauthlib.lab.LabServer`) cannot start: a missing file, a bad
    manifest, a port in use."""


class NginxError(K8sAuthError):
    """nginx could not be started, configured or stopped.

    Attributes:
        log_lines: the relevant lines of nginx's own error log and stderr (may be empty).
    """

    def __init__(self, message, *, log_lines=()):
        self.log_lines = list(log_lines)
        if self.log_lines:
            message = message + "\nnginx said:\n" + "\n".join("  " + line for line in self.log_lines)
        super().__init__(message)


class NginxNotFoundError(NginxError, FileNotFoundError):
    """No nginx binary on this machine."""


class NginxStartError(NginxError):
    """nginx exited or never answered TLS while starting."""


class TLSProblem(K8sAuthError):
    """A (mutual) TLS request failed for a known cause.

    Attributes:
        diagnosis: the :class:`k8sauthlib.tls.diagnose.Diagnosis` (cause, evidence); may be ``None``.
        url: the URL requested.
        response: the HTTP response when the server answered (nginx's 400 pages), else ``None``.
    """

    def __init__(self, message, *, diagnosis=None, url=None, response=None):
        super().__init__(message)
        self.diagnosis = diagnosis
        self.url = url
        self.response = response

    @property
    def cause(self):
        """The :class:`k8sauthlib.causes.Cause`, or ``None``."""
        return self.diagnosis.cause if self.diagnosis is not None else None

    @property
    def key(self):
        """The cause's key (e.g. ``"unknown-authority"``), or ``None``."""
        return self.diagnosis.key if self.diagnosis is not None else None


class UnknownServerCA(TLSProblem):
    """The server's certificate chains to a CA the client was not told to trust."""


class HostnameMismatch(TLSProblem):
    """The URL's host is not among the server certificate's SANs.

    Attributes:
        hostname: the name (or IP) that was checked.
        sans: the server certificate's SANs as strings (``DNS:...``/``IP:...``), when known.
    """

    def __init__(self, message, *, hostname=None, sans=(), **kw):
        super().__init__(message, **kw)
        self.hostname = hostname
        self.sans = list(sans)


class CertificateExpired(TLSProblem):
    """A certificate in the exchange is outside its validity period."""


class ServerCertExpired(CertificateExpired):
    """The server's certificate has expired (or is not valid yet)."""


class ClientCertRequired(TLSProblem):
    """The server wants a client certificate and none was sent (nginx: 400 No required SSL
    certificate was sent)."""


class ClientCertRejected(TLSProblem):
    """The server refused the client certificate (nginx: 400 The SSL certificate error)."""


class ClientCertExpired(ClientCertRejected, CertificateExpired):
    """The server refused the client certificate because it has expired."""


class ClientKeyMismatch(TLSProblem, KeyMismatchError):
    """The client private key does not belong to the client certificate."""


class ClientSignatureRejected(ClientKeyMismatch):
    """The server could not verify the client's handshake signature (CertificateVerify).

    The client sent its certificate and signed the handshake with the key file, and the
    signature did not verify with the certificate's public key (TLS alert ``decrypt error``;
    nginx logs ``bad signature``). OpenSSL had accepted the pair because the key file's public
    half is the certificate's, so the file's private values come from another key (or are
    damaged). Raised with ``check_key=False``; the default check refuses such a file before
    connecting.
    """


class WrongKeyUsage(TLSProblem):
    """A certificate's extended key usage does not allow its use here."""


class PlainHTTPToHTTPS(TLSProblem):
    """Plain HTTP was sent to an HTTPS port (nginx: 400 The plain HTTP request was sent to
    HTTPS port)."""


class HTTPSToPlainHTTP(TLSProblem):
    """TLS was attempted against a plain-HTTP port."""


class ServerUnreachable(TLSProblem):
    """No connection at all: connection refused, or the host name does not resolve."""


class CredentialFileError(TLSProblem):
    """A CA, certificate or key file cannot be read."""


class InsecureTLSWarning(UserWarning):
    """Server verification is turned off (the ``curl -k`` of this library)."""


#: diagnose cause key -> the exception MTLSClient raises for it.
CAUSE_CLASSES = {
    "plain-http-to-https-port": PlainHTTPToHTTPS,
    "https-to-plain-http-port": HTTPSToPlainHTTP,
    "hostname-mismatch": HostnameMismatch,
    "cert-expired": ServerCertExpired,
    "wrong-key-usage": WrongKeyUsage,
    "unknown-authority": UnknownServerCA,
    "client-cert-required": ClientCertRequired,
    "client-cert-expired": ClientCertExpired,
    "client-cert-rejected": ClientCertRejected,
    "client-key-mismatch": ClientKeyMismatch,
    "client-cert-unreadable": CredentialFileError,
    "ca-file-unreadable": CredentialFileError,
    "connection-refused": ServerUnreachable,
    "name-not-resolved": ServerUnreachable,
}
