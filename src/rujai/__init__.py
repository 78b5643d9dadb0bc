"""rujai (รู้ใจ): personalization that obeys Thailand's PDPA and the EU GDPR."""

__version__ = "0.1.0"
