"""Exceptions raised by k8sauthlib.

Kept free of heavy imports: the command line imports this module on paths that must not
load ``cryptography`` (``json -bare``, ``--help``).
"""


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
        reason: one of ``"unknown-issuer"``, ``"expired"``, ``"not-yet-valid"``,
            ``"wrong-usage"``, ``"hostname-mismatch"``, ``"not-a-ca"``, ``"bad-signature"``,
            ``"path-length"``, ``"unhandled-critical-extension"``.
        go_message: the text Go's ``crypto/x509`` (and so kube-apiserver and kubectl)
            prints for the same failure, e.g. ``x509: certificate signed by unknown authority``.
    """

    def __init__(self, message, *, reason, go_message=None):
        super().__init__(message)
        self.reason = reason
        self.go_message = go_message or message
