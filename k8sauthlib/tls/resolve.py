"""curl's ``--resolve`` for requests: connect to another address, keep the name for TLS and HTTP.

``curl --resolve kubernetes:8443:127.0.0.1`` sends the TCP connection to 127.0.0.1 while SNI,
the ``Host`` header and the certificate's host-name check still use ``kubernetes``, without
touching ``/etc/hosts``. :func:`parse_resolve` reads the forms :class:`~k8sauthlib.MTLSClient`
accepts for ``resolve=``; :class:`ResolvingAdapter` is the ``requests`` transport adapter that
does the rest (urllib3's ``server_hostname`` and ``assert_hostname`` pool arguments).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from ..errors import InputError


def parse_resolve(resolve):
    """Normalize a resolve override to ``{(host, port): address}``.

    Accepts ``{"kubernetes:8443": "127.0.0.1"}``, ``("kubernetes", 8443, "127.0.0.1")``,
    curl's ``"kubernetes:8443:127.0.0.1"``, or a list of those.

    Raises:
        InputError: a form that is none of these.
    """
    if not resolve:
        return {}
    out = {}
    if isinstance(resolve, dict):
        items = []
        for hp, addr in resolve.items():
            if isinstance(hp, tuple):
                host, port = hp
            else:
                host, _, port = str(hp).rpartition(":")
            items.append((host, port, addr))
    elif isinstance(resolve, tuple) and len(resolve) == 3 and not isinstance(resolve[0], (tuple, list)):
        items = [resolve]
    elif isinstance(resolve, str):
        items = [tuple(resolve.split(":", 2))]
    else:
        items = [(h, p, a) for r in resolve for (h, p), a in parse_resolve(r).items()]
    for item in items:
        try:
            host, port, addr = item
            port = int(port)
        except (TypeError, ValueError):
            raise InputError(f"resolve entry {item!r}: expected (host, port, address) or 'host:port:address'") from None
        if not host or not addr:
            raise InputError(f"resolve entry {item!r}: empty host or address")
        out[(str(host).lower(), port)] = str(addr)
    return out


class ResolvingAdapter(HTTPAdapter):
    """An HTTPAdapter that connects to another address for some (host, port) pairs.

    The pool is keyed by the address but created with ``server_hostname`` (SNI) and
    ``assert_hostname`` (certificate check) set to the name, which is what curl's
    ``--resolve`` does.
    """

    def __init__(self, resolve, **kw):
        self.resolve = resolve
        super().__init__(**kw)

    def _target(self, url):
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = (parts.hostname or "").lower()
        addr = self.resolve.get((host, port))
        return parts, host, port, addr

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        parts, host, port, addr = self._target(request.url)
        if addr is None:
            return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        pool_kwargs = {}
        if parts.scheme == "https":
            if verify is False:
                pool_kwargs["cert_reqs"] = "CERT_NONE"
            else:
                pool_kwargs["cert_reqs"] = "CERT_REQUIRED"
                bundle = verify if isinstance(verify, str) else requests.utils.DEFAULT_CA_BUNDLE_PATH
                pool_kwargs["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
                pool_kwargs["assert_hostname"] = host
            pool_kwargs["server_hostname"] = host
            if cert:
                cert_file, key_file = cert if isinstance(cert, tuple) else (cert, None)
                pool_kwargs["cert_file"] = cert_file
                pool_kwargs["key_file"] = key_file
        return self.poolmanager.connection_from_host(addr, port, scheme=parts.scheme, pool_kwargs=pool_kwargs)

    def send(self, request, **kw):
        """Send ``request`` as requests' adapter does, with the Host header of the URL's name
        when the connection goes to a ``--resolve`` address."""
        parts, host, port, addr = self._target(request.url)
        if addr is not None and "Host" not in request.headers:
            default = 443 if parts.scheme == "https" else 80
            request.headers["Host"] = parts.hostname if port == default else f"{parts.hostname}:{port}"
        return super().send(request, **kw)


__all__ = ["ResolvingAdapter", "parse_resolve"]
