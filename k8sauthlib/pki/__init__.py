"""Certificates and keys: issue (certs), read and verify (inspect)."""
