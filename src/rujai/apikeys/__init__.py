"""API keys: who may call the API, and with which scopes (least privilege, TH-SEC-01).

Owns: the ``api_key`` table, creating keys (``rk_<prefix>_<secret>``, only the SHA-256 of the
secret is stored), revoking and listing them, authenticating a bearer token into a ``Principal``,
and the FastAPI dependencies ``require_scope`` / ``AdminPrincipal`` & co. in ``deps``.

Does not own: what a principal may do with personal data (``policy`` decides), or the audit log
(``audit``; key creation and revocation are audited through it).
"""
