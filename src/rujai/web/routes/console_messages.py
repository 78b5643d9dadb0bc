"""The console's Thai/English texts (``templates/console/messages.yaml``) for the catalogue."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from rujai.web.i18n import register_messages

MESSAGES_FILE = Path(__file__).resolve().parents[1] / "templates" / "console" / "messages.yaml"


@cache
def messages() -> dict[str, dict[str, str]]:
    """Return ``{key: {"th": ..., "en": ...}}`` for every console text."""
    loaded = yaml.safe_load(MESSAGES_FILE.read_text(encoding="utf-8"))
    return {str(k): {"th": str(v["th"]), "en": str(v["en"])} for k, v in loaded.items()}


def register() -> None:
    """Add the console's texts to the web catalogue (idempotent)."""
    register_messages(messages())
