"""Sign-in sessions of the web UI: one server-side record per privacy-center or console sign-in.

Owns: the ``web_session`` table; starting a session at sign-in, finding it active on each request
(idle and absolute timeouts), ending it at once (sign-out, a staff member's password or role
change, a staff member's removal, a subject's erasure). The browser's cookie holds only the
record's id, signed; a saved cookie is worth nothing once its record has ended.

Does not own: who may sign in (``staff`` checks passwords, ``rights.verification`` checks one-time
codes), the cookie itself (``web.security``) or what a signed-in person may open (``web``).
"""
