"""Typed SQLAlchemy 2.0 models (DESIGN.md §3). No Flask, no business rules.

``core`` holds people, rubrics, projects, items and judgments; ``judges`` holds the LLM
judges, their runs, verdicts, failed attempts and escalation decisions; ``links`` holds the
one-time invitation and password-reset links; ``membership`` who rates which project;
``raters`` what the rating page remembers about a rater in a project.
"""

from .core import (
    Adjudication,
    ApiToken,
    Item,
    ItemFlag,
    JSONType,
    Judgment,
    Lease,
    LoginThrottle,
    Project,
    RepeatJudgment,
    Response,
    Rubric,
    RubricVersion,
    SpotCheck,
    User,
    UTCDateTime,
    utcnow,
)
from .judges import Escalation, Judge, JudgeAttempt, JudgeRun, JudgeVerdict
from .links import AccountLink
from .membership import ProjectMember
from .raters import InstructionsSeen
from .stat_cache import StatCache

__all__ = [
    "AccountLink",
    "Adjudication",
    "ApiToken",
    "Escalation",
    "InstructionsSeen",
    "Item",
    "ItemFlag",
    "JSONType",
    "Judge",
    "JudgeAttempt",
    "JudgeRun",
    "JudgeVerdict",
    "Judgment",
    "Lease",
    "LoginThrottle",
    "Project",
    "ProjectMember",
    "RepeatJudgment",
    "Response",
    "Rubric",
    "RubricVersion",
    "SpotCheck",
    "StatCache",
    "UTCDateTime",
    "User",
    "utcnow",
]
