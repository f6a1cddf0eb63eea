"""Use cases: ``fn(session, ...) -> domain value``. They never commit; the caller owns the transaction."""
