"""Import the modules that listen to ``kit.signals`` so that every process registers them.

``main.create_app`` and the CLI import this module: a withdrawal recorded from either one unlearns
the subject from the recommender, clears derived insights and, on erasure, bandit statistics.
"""

from rujai.personalize import insights, offers, recommend

__all__ = ["insights", "offers", "recommend"]
