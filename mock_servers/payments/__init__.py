"""Mock of the DVCQG payment platform (PaymentPlatform, message version 1.0.6).

* ``POST /payment/api`` — one JSON endpoint dispatching on ``LoaiBanTin``: ``INIT``
  (reply ``{"error_code": "0", "message": "{\\"UrlThanhToan\\": …}"}``), ``QUERY``
  (a signed status reply) and ``GET_BILL`` (the e-receipt PDF). ``MaXacThuc`` is
  checked on every message, with this package's own checksum code.
* ``GET /payment/pay/{token}`` — the payment page (Vietnamese and English) where a
  tester chooses pay, fail or cancel; the choice sends the IPN callback (``POST`` JSON
  with ``MaXacThuc``) to the vendor's callback URL, retried with backoff, and
  redirects the browser to the vendor's return URL.
* Admin switches bend the callbacks: ``forged``, ``duplicate``, ``late``,
  ``wrong_amount`` (see :class:`PaymentsPlatform`).

Nothing here imports govlink.
"""

from __future__ import annotations

from mock_servers.payments.platform import PaymentsPlatform, create_platform

__all__ = ["PaymentsPlatform", "create_platform"]
