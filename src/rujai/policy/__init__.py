"""Policy: the privacy policy as code and the one chokepoint for using personal data.

Owns: the policy file (schema, loader, legal validation), the notice and record of processing, the
pure decision ``rules.evaluate`` and its door ``service.check`` / ``service.authorize``.
Does not own: consent records (consent), subjects (profiles), audit storage (audit).
"""
