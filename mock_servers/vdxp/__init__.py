"""Mock of the national document axis (VDXP) exchanging edXML (PLATFORMS.md §5).

Mounted under ``/vdxp``. One store, three faces:

* the axis REST API (``/sendEdoc``, ``/getReceivedEdocList``, ``/getSentEdocList``,
  ``/getEdoc``, ``/downloadEdoc``, ``/updateStatus``, ``/countReceiveEdoc``,
  ``/getAgenciesList``, ``/registerAgency``, ``/deleteAgency``) with HMAC-signed
  headers checked against the seeded agencies' secrets (timestamp tolerance on the
  virtual clock);
* the provincial-gateway API (``/vanbans``, ``/vanbans/{docId}``,
  ``/donvilienthongs``) behind gateway bearer tokens;
* SOAP (``/soap``) with the same operations.

A document sent from A to B appears in B's received list; B's status messages
appear in A's (and on A's sent document). Every package's XML signature is checked
on receipt against the TEST CA in ``pki/`` (a tampered package is refused with
``E_SIGNATURE``). Admin switches make the axis *deliver* a tampered, unsigned,
wrongly-signed, expired-certificate or SHA-1-signed package, so vendors can test
their rejection paths. Nothing here imports govlink.
"""

from __future__ import annotations

from mock_servers.vdxp.platform import (
    DELIVERY_SWITCHES,
    ERROR_CODES,
    VdxpPlatform,
    create_platform,
    hmac_signature,
    parse_timestamp,
)

__all__ = [
    "DELIVERY_SWITCHES",
    "ERROR_CODES",
    "VdxpPlatform",
    "create_platform",
    "hmac_signature",
    "parse_timestamp",
]
