"""TLS on the wire.

- :mod:`.client`: the mTLS client (:class:`~k8sauthlib.MTLSClient`), with :mod:`.resolve` (curl's ``--resolve``);
- :mod:`.trust`: what the client trusts (the system CA bundle, a CA file checked before use);
- :mod:`.keypair`: does a private key belong to a certificate, checked before connecting;
- :mod:`.recorder`: a tiny HTTPS server that records the requests clients send;
- :mod:`.diagnose`: what curl, nginx, Python and Go print, mapped to a cause; :func:`run_curl`;
- :mod:`.nginx`: a real nginx in a work directory, with :mod:`.nginx_conf` (the configuration
  text it writes), :mod:`.nginx_logs` (reading its logs), :mod:`.process` (its processes, recorded by PID and start time),
  :mod:`.ports` (who holds a port) and :mod:`.rundir` (a prefix its workers can reach).
"""
