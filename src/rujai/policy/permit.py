"""The proofs the door hands out: a ``Permit`` for one subject, a ``PermitSet`` for many.

Only ``policy.service`` makes them (``authorize``, ``authorize_many``); their constructors refuse
any other caller, and ``tests/test_architecture.py`` checks that nothing else holds the seal
(``PERMIT_SEAL``). They live apart from the door so that the domains below it (profiles,
consent) can take them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from rujai.errors import PolicyDenied
from rujai.policy.rules import Verdict

PERMIT_SEAL = object()  # passed only by rujai.policy.service


@dataclass(frozen=True, slots=True)
class Permit:
    """Proof that a purpose may use some categories of one subject; made only by ``authorize``."""

    verdict: Verdict
    issued_at: datetime
    _seal: object = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._seal is not PERMIT_SEAL:
            raise TypeError("a Permit is issued only by rujai.policy.service.authorize")

    @property
    def subject_id(self) -> UUID | None:
        return self.verdict.subject_id

    @property
    def purpose(self) -> str:
        return self.verdict.purpose

    def covers(self, subject_id: UUID | None, category: str) -> bool:
        """Return True if this permit allows reading ``category`` of ``subject_id``."""
        return subject_id == self.verdict.subject_id and category in self.verdict.categories

    def require(self, subject_id: UUID | None, category: str) -> None:
        """Raise PolicyDenied unless this permit covers ``subject_id`` and ``category``."""
        if not self.covers(subject_id, category):
            raise PolicyDenied(
                f"permit for purpose {self.purpose!r} does not cover category {category!r}",
                reason="permit_scope",
            )

    def as_set(self) -> PermitSet:
        """Return this permit as a one-subject ``PermitSet`` (for the bulk readers)."""
        sid = self.verdict.subject_id
        grants = {} if sid is None else {sid: frozenset(self.verdict.categories)}
        return PermitSet((self.purpose,), grants, self.issued_at, _seal=PERMIT_SEAL)

    def require_subject(self, subject_id: UUID) -> None:
        """Raise PolicyDenied unless this permit is for ``subject_id`` (any category)."""
        if subject_id != self.verdict.subject_id:
            raise PolicyDenied(
                f"permit for purpose {self.purpose!r} is for another subject", reason="permit_scope"
            )


@dataclass(frozen=True, slots=True)
class PermitSet:
    """Proof that a purpose may use some categories of many subjects (from ``authorize_many``).

    Bulk work (training, insights, retention) reads through one: the owning domain's bulk reads
    take it and read only the subjects and categories it holds. ``grants[subject]`` is the set of
    categories allowed for that subject; subjects refused are absent.
    """

    purposes: tuple[str, ...]
    grants: Mapping[UUID, frozenset[str]]
    issued_at: datetime
    _seal: object = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._seal is not PERMIT_SEAL:
            raise TypeError("a PermitSet is issued only by rujai.policy.service.authorize_many")

    def __len__(self) -> int:
        return len(self.grants)

    @property
    def subject_ids(self) -> list[UUID]:
        """The subjects with some permitted category, in order."""
        return sorted(self.grants)

    def categories_of(self, subject_id: UUID) -> frozenset[str]:
        """Return the categories permitted for ``subject_id`` (empty if none)."""
        return self.grants.get(subject_id, frozenset())

    def covers(self, subject_id: UUID, category: str) -> bool:
        """Return True if this permit set allows reading ``category`` of ``subject_id``."""
        return category in self.grants.get(subject_id, ())

    def union(self, other: PermitSet) -> PermitSet:
        """Return the grants of both sets (each grant was authorised on its own)."""
        grants = dict(self.grants)
        for sid, categories in other.grants.items():
            grants[sid] = grants.get(sid, frozenset()) | categories
        purposes = tuple(dict.fromkeys((*self.purposes, *other.purposes)))
        issued = min(self.issued_at, other.issued_at)
        return PermitSet(purposes, grants, issued, _seal=PERMIT_SEAL)


@dataclass(frozen=True, slots=True)
class DisclosurePermitSet:
    """Proof that ``recipient`` may get some categories of many subjects for one purpose now.

    Made only by ``policy.service.authorize_disclosure`` (TH-USE-01, TH-XB-01, TH-PRC-01). The
    flow reads through ``permits`` and logs one disclosure per subject in ``verdicts`` (each with
    its lawful basis and consent records); ``refused`` counts the subjects left out, by reason.
    """

    recipient: str
    country: str
    mechanism: str
    processor: bool
    purpose: str
    categories: tuple[str, ...]
    channel: str
    permits: PermitSet
    verdicts: Mapping[UUID, Verdict]
    refused: Mapping[str, int]
    policy_version: str
    issued_at: datetime
    _seal: object = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._seal is not PERMIT_SEAL:
            raise TypeError("a DisclosurePermitSet is issued only by rujai.policy.service")

    @property
    def subject_ids(self) -> list[UUID]:
        """The subjects whose data may be disclosed, in order."""
        return self.permits.subject_ids
