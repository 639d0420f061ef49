"""Mock of the national document axis (VDXP) exchanging edXML (PLATFORMS.md §5).

Mounted under ``/vdxp``. One store, two faces:

* the axis REST API of the vendor SDK (``/sendEdoc`` multipart ``file_doc``,
  ``/getReceivedEdocList``, ``/getSentEdocList``, ``/getEdoc``, GET ``/downloadEdoc``,
  ``/updateStatus``, GET ``/countReceiveEdoc``, GET ``/countReceiveStatus``,
  ``/getAgenciesList``, ``/registerAgency``, ``/deleteAgency``, ``/getSynchronizeUnit``).
  Calls are signed as the SDK signs them: ``XroadVnpt-<name>`` headers, the JSON
  ``XroadVnpt-sign-header``, its key list and the HMAC-SHA256 ``XroadVnpt-hash-header``
  under the seeded system's secret (timestamp tolerance on the virtual clock). The
  signature is checked from the headers before any body is read, and bodies are
  capped while they are read;
* the provincial-gateway API (``/vanbans``, ``/vanbans/{docId}``,
  ``/donvilienthongs``) behind gateway bearer tokens.

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
    hash_file_forms,
    hmac_signature,
    multipart_part,
    parse_timestamp,
)

__all__ = [
    "DELIVERY_SWITCHES",
    "ERROR_CODES",
    "VdxpPlatform",
    "create_platform",
    "hash_file_forms",
    "hmac_signature",
    "multipart_part",
    "parse_timestamp",
]
