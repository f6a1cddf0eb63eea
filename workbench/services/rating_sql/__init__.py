"""The SQL of the rating path: the next-item walk, leases, and recording a judgment.

The policy (what a rater is shown, in which order; which submissions are refused) lives in
``services/assignment.py`` and ``services/judging.py``; this package holds the statements
they run, each behind a function named for what it returns or does. Statements are built
once, with named parameters, and only executed per request: building SQL expressions costs
more than running these small queries.

- ``pieces``: the tables and the expressions several statements share (an item's open live
  leases and live judgments, what a rater has seen, the side orders shown).
- ``reads``: reads that are the same SQL on every database.
- ``dialects``: everything that differs between SQLite and PostgreSQL (row locks, the
  waiting walk, statements merged into one on PostgreSQL).
"""

from .dialects import complete_lease, first_live_item, insert_judgment, lease_for_submit, write_lease
from .pieces import SWAPPED_TEXT, Walk, is_postgresql
from .reads import (
    current_version,
    item_content,
    judged_live_items,
    lease,
    leases_shown,
    open_lease_id,
    places_taken,
    rating_context,
    repeated_items,
    shown_orders,
    unseen_gold,
)

__all__ = [
    "SWAPPED_TEXT",
    "Walk",
    "complete_lease",
    "current_version",
    "first_live_item",
    "insert_judgment",
    "is_postgresql",
    "item_content",
    "judged_live_items",
    "lease",
    "lease_for_submit",
    "leases_shown",
    "open_lease_id",
    "places_taken",
    "rating_context",
    "repeated_items",
    "shown_orders",
    "unseen_gold",
    "write_lease",
]
