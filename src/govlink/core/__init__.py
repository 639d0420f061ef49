"""Internal foundation shared by every platform client: config, errors, HTTP, auth, XML, time.

Not a public API: these modules may change in any release. What a user needs from
them is re-exported by :mod:`govlink` (the facade, ``GovLinkSettings``, the exception
hierarchy) and by the platform packages. How the foundation works is described on the
*Internals* pages of the documentation.
"""
