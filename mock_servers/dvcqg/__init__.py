"""Mock of the DVCQG dossier-sync integration (PLATFORMS.md §2), mounted at ``/dvcqg``.

Session login, ``DongBoHoSoMC`` / ``CapNhatTienDoHoSoMC`` with the portal's kind of
validation, ``TraCuuHoSo`` and the catalogue reads, per-item results, duplicate
detection by idempotency key, and ``GET /dvcqg/_mock/received`` to verify what was
applied. See :mod:`mock_servers.dvcqg.platform`.
"""

from __future__ import annotations

from mock_servers.dvcqg.platform import IDEMPOTENCY_FIELD, DvcqgPlatform, create_platform

__all__ = ["IDEMPOTENCY_FIELD", "DvcqgPlatform", "create_platform"]
