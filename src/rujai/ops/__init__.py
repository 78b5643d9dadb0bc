"""Operations: master-key rotation, backups and restores, recovery before serving.

Owns no table. Orchestrates whole-installation jobs over the domains' services, one transaction
per chunk (``rujai.writer.session_scope``): re-wrapping data keys (``keys``, through
``profiles.rewrap``), copying the database out and in (``backup``, through ``kit.dbcopy``) and
replaying the erasure log (``rights.replay``) after a restore or a crash, before the server serves.
Called by the CLI only.
"""
