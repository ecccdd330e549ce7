"""CertificateSigningRequests in the lab's REST handler: the registry strategy and the signer.

The rules live in :mod:`.csr` (strategy, validation), :mod:`.csradmission` (the ``CertificateApproval``,
``CertificateSigning`` and ``CertificateSubjectRestriction`` admission plugins, the order of a write) and
:mod:`.csrsigner` (kube-controller-manager's ``csrsigning`` controller for
``kubernetes.io/kube-apiserver-client``). This module binds them to a request: it asks the
authorizer for the requesting user, and it signs an approved request right after the write
that approved it, with the cluster CA (kubeadm's ``--cluster-signing-cert-file`` and
``--cluster-signing-key-file``: ``pki/ca.crt`` and ``pki/ca.key``). On a cluster the
controller signs within moments; in the lab the certificate is there when ``kubectl
certificate approve`` returns, so ``kubectl get csr NAME -o jsonpath='{.status.certificate}'``
right after it finds it.
"""

import logging
from pathlib import Path

from ..errors import InputError
from . import csradmission, csrsigner

logger = logging.getLogger("k8sauthlib.lab")


class CSRStrategy:
    """What :class:`~k8sauthlib.lab.rest.RestHandler` calls for CSRs.

    Args:
        authorizer: the lab's :class:`~k8sauthlib.lab.auth.Authorizer` (for ``approve``/``sign``).
        pki_dir: the tree's ``pki/`` holding ``ca.crt`` and ``ca.key`` (loaded on first use).
    """

    def __init__(self, authorizer, pki_dir):
        self.authorizer = authorizer
        self.pki_dir = Path(pki_dir) if pki_dir is not None else None
        self._ca = None

    def _authorize(self, identity):
        return lambda attrs: self.authorizer.authorize(identity, attrs)

    def create(self, obj, identity, meta_errors):
        """``csradmission.create``: the object to store; raises ``StatusError`` (400, 422, 403)."""
        return csradmission.create(obj, identity, self._authorize(identity), meta_errors=meta_errors)

    def update(self, new, old, subresource, identity, meta_errors):
        """``csradmission.update`` for the object, ``/status`` or ``/approval``."""
        return csradmission.update(new, old, subresource, self._authorize(identity), meta_errors=meta_errors)

    @property
    def ca(self):
        if self._ca is None and self.pki_dir is not None:
            from .. import CA  # the package's public name (the module moves with issue 11)

            self._ca = CA.load(self.pki_dir / "ca.crt", self.pki_dir / "ca.key")
        return self._ca

    def sign(self, obj):
        """The signed (or Failed) object to store, or ``None`` (nothing to do, or an error logged)."""
        if not csrsigner.is_approved(obj) or (obj.get("status") or {}).get("certificate"):
            return None
        try:
            ca = self.ca
            if ca is None:
                return None
            return csrsigner.sign(obj, ca)
        except (InputError, OSError, ValueError) as exc:
            # kube-controller-manager logs and retries; the CSR stays Approved without a certificate
            logger.error('"Unhandled Error" err="error syncing \'%s\': %s"', obj["metadata"]["name"], exc)
            return None
