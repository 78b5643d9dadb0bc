"""Personalization: insights, recommender, offers, decisions.

Owns the models that turn permitted data into "products you may like" (``recommender``: EASE with
exact unlearning, a popularity fallback, ranking metrics). Does not own the decision whether data
may be used (``policy``), consent (``consent``) or the events themselves (``events``).
"""
