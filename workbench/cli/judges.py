"""LLM judges: ``workbench judges`` (register, list) and ``workbench judge`` (run, measure, escalate)."""

from __future__ import annotations

import click

from . import main


@main.group("judges")
def judges():
    """Register and list LLM judges (OpenAI-compatible chat-completions endpoints)."""


@main.group("judge")
def judge():
    """Run a judge on a project, measure it against humans, and escalate what it can't be trusted with."""


__all__ = ["click", "judge", "judges"]
