"""TLS on the wire: the mTLS client, failure diagnosis (curl, kubectl, nginx logs) and managed nginx."""
