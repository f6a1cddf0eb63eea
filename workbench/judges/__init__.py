"""LLM judges at work: the prompt from a rubric version, the chat-completions client, the
reading of an answer (validation, orientation, confidence) and the runner that shares a
project's items among runner processes through leases.

No Flask here; ``services.judges`` registers judges, ``cli.judges`` runs them.
"""
