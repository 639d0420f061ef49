"""SOAP for platform clients: zeep (de)serialises, :mod:`govlink.core.http` carries.

Four modules, one job each:

* :mod:`~govlink.core.soap._wsdl` — WSDL loading: local files only, DTDs, entities
  and external references forbidden, parsed once per process and shared;
* :mod:`~govlink.core.soap._transport` — zeep transports (zeep's public constructors)
  whose requests go through govlink's HTTP layer: retries only when safe, never on
  HTTP 500 (SOAP's fault status), correlation id, evidence, masked logs, and a reply
  cap enforced while reading (:data:`SOAP_MAX_REPLY_BYTES` by default);
* :mod:`~govlink.core.soap._faults` — faults as :class:`SoapFault`, mapped to govlink
  errors (:class:`SoapFaultError`, :class:`SoapAuthenticationError`, or a platform's own
  ``fault_mapper``); :func:`fault_from_element` for replies read without zeep;
* :mod:`~govlink.core.soap._client` — :class:`SoapClient` / :class:`AsyncSoapClient`,
  one call of an operation with its :class:`SoapResult`.

zeep is imported by this package; ``import govlink`` never imports it.
"""

from __future__ import annotations

from govlink.core.soap._client import AsyncSoapClient, SoapClient, SoapResult
from govlink.core.soap._faults import (
    FaultMapper,
    SoapAuthenticationError,
    SoapFault,
    SoapFaultError,
    default_fault_mapper,
    fault_from_element,
    not_soap_error,
)
from govlink.core.soap._transport import (
    SOAP_MAX_REPLY_BYTES,
    SOAP_RETRY_STATUSES,
    AsyncSoapHttpTransport,
    SoapHttpTransport,
)
from govlink.core.soap._wsdl import (
    WsdlError,
    clear_wsdl_cache,
    hardened_settings,
    load_wsdl,
    wsdl_load_count,
)

__all__ = [
    "SOAP_MAX_REPLY_BYTES",
    "SOAP_RETRY_STATUSES",
    "AsyncSoapClient",
    "AsyncSoapHttpTransport",
    "FaultMapper",
    "SoapAuthenticationError",
    "SoapClient",
    "SoapFault",
    "SoapFaultError",
    "SoapHttpTransport",
    "SoapResult",
    "WsdlError",
    "clear_wsdl_cache",
    "default_fault_mapper",
    "fault_from_element",
    "hardened_settings",
    "load_wsdl",
    "not_soap_error",
    "wsdl_load_count",
]
