"""TLS on the wire.

- :mod:`.client`: the mTLS client (:class:`~k8sauthlib.MTLSClient`);
- :mod:`.keypair`: does a private key belong to a certificate, checked before connecting;
- :mod:`.diagnose`: what curl, nginx, Python and Go print, mapped to a cause; :func:`run_curl`;
- :mod:`.nginx` and :mod:`.process`: a real nginx in a work directory, and its process.
"""
