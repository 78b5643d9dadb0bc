"""Errors of the disclosures domain."""

from __future__ import annotations

from rujai.errors import Forbidden, NotFound


class DisclosureNotFound(NotFound):
    """Nothing was disclosed to this recipient under this reference or audience (404)."""

    code = "disclosure_not_found"


class NotAPartnerKey(Forbidden):
    """The API key is not bound to a recipient (403)."""

    code = "not_a_partner_key"
