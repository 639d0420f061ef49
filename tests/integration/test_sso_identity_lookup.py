"""An SSO identity goes straight into a population-database lookup: same names, same types."""

from __future__ import annotations

from sso_support import REDIRECT_URI, headless_callback, sso_settings

from govlink.citizens import CitizenClient
from govlink.sso import CitizenIdentity, SsoClient


def test_a_logged_in_citizen_is_looked_up_with_the_identity_as_is(govlink_mock) -> None:
    with SsoClient(sso_settings(govlink_mock)) as sso:
        login = sso.begin_login(REDIRECT_URI)
        identity = sso.finish_login(headless_callback(login), login.state).identity
    assert isinstance(identity, CitizenIdentity)
    assert identity.permanent_address is not None
    assert identity.permanent_address.ward_code  # the citizens package's name for it
    with CitizenClient(govlink_mock.settings()) as citizens:
        record = citizens.lookup(identity.id_number, identity.full_name, identity.birth_date)
    assert record.id_number == identity.id_number
