"""``govlink_mock.journal()`` follows the mock's journal pages: nothing kept is missed."""

from __future__ import annotations

import httpx

from govlink.testing._handle import MockHandle


def test_journal_reads_every_page(govlink_mock: MockHandle) -> None:
    govlink_mock.clear_journal()
    url = govlink_mock.url("dossiers") + "/integration"
    with httpx.Client(trust_env=False) as http:
        for _ in range(1_010):  # more than one page (1,000 entries)
            http.post(url, content=b"{}", headers={"Content-Type": "application/json"})
    entries = govlink_mock.journal(platform="dossiers")
    assert len(entries) == 1_010
    assert len({e["id"] for e in entries}) == 1_010
    assert len(govlink_mock.journal(platform="dossiers", limit=10)) == 10
