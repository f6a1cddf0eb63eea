"""workbench: LLM-output evaluation and RLHF feedback."""

__version__ = "0.1.0"
