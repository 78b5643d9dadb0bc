"""Demo: a made-up Thai home-and-living brand (catalogue, customers, consents, histories).

Owns no tables; writes only through the catalog, profiles, consent and events services.
"""
