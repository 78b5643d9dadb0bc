"""Events: consent-gated collection (track, batch, imports).

Owns event and dropped-event tables; does not own subjects or consents.
"""
