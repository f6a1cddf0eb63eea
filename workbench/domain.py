"""Plain values shared by every layer: enums and frozen dataclasses, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Role(str, enum.Enum):
    RATER = "rater"
    AUTHOR = "author"
    RESEARCHER = "researcher"
    ADMIN = "admin"


# Who may do what: every page and API endpoint declares one of these groups, and nothing
# else lists roles. Tuples keep a fixed order for anything that prints them.
EVERYONE: tuple[Role, ...] = tuple(Role)
RATERS: tuple[Role, ...] = (Role.RATER, Role.ADMIN)  # rate items, see their own quality figures
AUTHORS: tuple[Role, ...] = (Role.AUTHOR, Role.ADMIN)  # write and publish rubrics
RESEARCHERS: tuple[Role, ...] = (Role.RESEARCHER, Role.ADMIN)  # export datasets, the research API
STAFF: tuple[Role, ...] = (Role.AUTHOR, Role.RESEARCHER, Role.ADMIN)  # agreement, statistics, the quality loop
ADMINS: tuple[Role, ...] = (Role.ADMIN,)  # users, projects and who rates them


class TaskKind(str, enum.Enum):
    PAIRWISE = "pairwise"
    SINGLE = "single"


class VersionStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class LeasePurpose(str, enum.Enum):
    """Why an item was shown to a rater."""

    LIVE = "live"  # an ordinary item, counted against its overlap
    GOLD = "gold"  # a check item with a known answer, interleaved at the project's gold rate
    QUALIFICATION = "qualification"  # a check item of the qualification set, before live work
    REPEAT = "repeat"  # an item the rater judged before, shown again with sides swapped
    JUDGE = "judge"  # an item claimed by an LLM judge's runner; never counted against overlap


# The longest an API token may be made to last, in days (the command line and the forms).
MAX_TOKEN_DAYS = 3650


class LinkPurpose(str, enum.Enum):
    """What a one-time account link is for (both set a password)."""

    INVITE = "invite"  # a new user chooses their first password
    RESET = "reset"  # a user who forgot theirs chooses a new one


class FlagKind(str, enum.Enum):
    SKIP = "skip"  # the rater passed on the item (with a reason); others still get it
    BROKEN = "broken"  # the rater reports the item itself as broken


class PairChoice(str, enum.Enum):
    """A pairwise answer in canonical orientation: A is the item's first response."""

    A = "A"
    B = "B"
    TIE = "tie"


class Level(str, enum.Enum):
    """Krippendorff's levels of measurement."""

    NOMINAL = "nominal"
    ORDINAL = "ordinal"
    INTERVAL = "interval"
    RATIO = "ratio"


@dataclass(frozen=True)
class AlphaResult:
    """Krippendorff's alpha with an optional bootstrap confidence interval.

    ``n_units`` counts pairable units (two or more values); ``n_units_dropped`` counts
    units that had fewer than two values and so could not enter the computation.
    """

    alpha: float | None
    level: Level
    n_units: int
    n_values: int
    n_units_dropped: int = 0
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float = 0.95
    n_resamples: int = 0
    method: str = "krippendorff.alpha on value counts"


@dataclass(frozen=True)
class QuestionAlpha:
    """Agreement on one question of one rubric version."""

    question_id: str
    question_label: str
    rubric_version: int
    result: AlphaResult


@dataclass(frozen=True)
class ProjectProgress:
    items: int
    target_judgments: int
    judgments: int
    items_complete: int
    by_rater: tuple[tuple[str, int], ...] = field(default_factory=tuple)

    @property
    def share(self) -> float:
        return self.judgments / self.target_judgments if self.target_judgments else 0.0


def may_read_version(status: VersionStatus, role: Role | None) -> bool:
    """Drafts are for their authors: only authors and admins read an unpublished version."""
    return status is not VersionStatus.DRAFT or (role is not None and role in AUTHORS)


@dataclass(frozen=True)
class Page:
    """One page of a long list: ``rows`` are numbers ``first``..``last`` (1-based) of ``total``."""

    rows: tuple
    number: int
    pages: int
    total: int
    size: int

    @classmethod
    def of(cls, rows, number: int | None, size: int) -> Page:
        """Page ``number`` (1-based, clamped into range) of ``rows``, ``size`` rows a page."""
        pages = max(1, -(-len(rows) // size))
        number = min(max(1, number or 1), pages)
        start = (number - 1) * size
        return cls(tuple(rows[start : start + size]), number, pages, len(rows), size)

    @property
    def first(self) -> int:
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return (self.number - 1) * self.size + len(self.rows)
