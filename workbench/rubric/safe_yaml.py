"""YAML for rubrics without anchors or aliases.

A rubric has no use for ``&anchor``/``*alias``, and aliases let a few hundred bytes expand
into gigabytes ("billion laughs"). The loader refuses the first anchor or alias it meets,
before anything is expanded; the error carries the line, like any YAML error.
"""

from __future__ import annotations

from typing import Any

import yaml

ALIAS_PROBLEM = "anchors and aliases (& and *) are not allowed in a rubric"


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.constructor.ConstructorError(None, None, ALIAS_PROBLEM, event.start_mark)
        return super().compose_node(parent, index)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` without anchors or aliases (raises ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=_NoAliasLoader)
