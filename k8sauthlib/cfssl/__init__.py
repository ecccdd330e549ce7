"""cfssl's JSON inputs, read and honoured the way cfssl does, and ``gencert`` on top of them.

The article makes its certificates with ``cfssl gencert`` from two kinds of JSON file: a CSR
request (``rootCA-csr.json``, ``server-csr.json``...) and a signing configuration
(``rootCA-config.json``). This module reads both and issues the same certificates cfssl would:

- the subject is built like cfssl's ``CertificateRequest.Name()`` and Go's
  ``pkix.Name.ToRDNSequence()``: ``C``, ``ST``, ``L``, ``O``, ``OU``, ``CN``, ``serialNumber``,
  then ``emailAddress``; repeated values of one attribute (two ``names`` entries with ``O``)
  share one multi-valued RDN, and strings are PrintableString when they fit, UTF8String
  otherwise, exactly as Go encodes them;
- ``hosts`` become IP, email, URI or DNS SANs by cfssl's rule (``net.ParseIP``, then
  ``mail.ParseAddress``, then ``url.ParseRequestURI``, else DNS);
- the key defaults to ECDSA P-256 when ``key`` is absent;
- ``-initca`` certificates follow cfssl's CA policy (``cert sign`` + ``crl sign``, 43800h unless
  ``ca.expiry``; DNS, email and URI SANs dropped, IP SANs kept);
- validity starts at now rounded to the minute minus five minutes (the profile's ``backdate``)
  and lasts exactly the profile's ``expiry``.

Field names match case-insensitively, as Go's ``encoding/json`` matches them.

Where cfssl silently does something the user did not mean, we stop with one sentence that names
the problem: an unknown profile (cfssl falls back to ``signing.default``), an unknown usage name
(cfssl drops it), an unknown field such as ``"host"`` for ``"hosts"`` (cfssl ignores it, and
the SANs are lost), a field given twice (cfssl keeps the last), a negative or zero expiry.

Reading a CSR request imports no ``cryptography``; checking a configuration's usage names and
issuing do.
"""

from .config import DEFAULT_BACKDATE, DEFAULT_EXPIRY, DEFAULT_USAGES, SigningConfig, SigningProfile
from .csr import DEFAULT_KEY, CAConfig, CsrRequest, KeyRequest, NameEntry, split_hosts
from .issue import CA_EXPIRY, cfssl_validity, check_signed_by, gencert, gencert_initca, load_ca, to_cfssl_json

__all__ = [
    "CA_EXPIRY",
    "DEFAULT_BACKDATE",
    "DEFAULT_EXPIRY",
    "DEFAULT_KEY",
    "DEFAULT_USAGES",
    "CAConfig",
    "CsrRequest",
    "KeyRequest",
    "NameEntry",
    "SigningConfig",
    "SigningProfile",
    "cfssl_validity",
    "check_signed_by",
    "gencert",
    "gencert_initca",
    "load_ca",
    "split_hosts",
    "to_cfssl_json",
]
