"""Fixtures of the SSO unit tests (helpers live in ``sso_testkit``)."""

from __future__ import annotations

from sso_testkit import ec_key, make_token, other_rsa_key, rsa_key

__all__ = ["ec_key", "make_token", "other_rsa_key", "rsa_key"]
