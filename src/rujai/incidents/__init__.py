"""Incidents: the breach register (PDPA s.37(4), PDPC breach notification 2022; TH-BRE-01, EU-04).

Owns: personal-data breaches from the moment the controller is aware of them: the blast radius
measured from the data, the 72-hour clock, the risk assessment and its reasoning, the notice drafts
to the regulator and to the subjects, and the register exported for the regulator.
"""
