"""seedtree: tooling for a git repository of LLM training seeds (LAB method)."""

__version__ = "0.1.0"
