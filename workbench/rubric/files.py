"""Write rubric documents back to files (YAML with block-style Markdown, or JSON)."""

from __future__ import annotations

import json
from typing import Any

import yaml


class _RubricDumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    if style:
        value = "\n".join(line.rstrip() for line in value.split("\n"))
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_RubricDumper.add_representer(str, _text)


def dump_rubric_text(document: dict[str, Any], fmt: str = "yaml") -> str:
    """The document as file text; loading it back gives the same content hash."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(document, Dumper=_RubricDumper, sort_keys=False, allow_unicode=True, width=100)
