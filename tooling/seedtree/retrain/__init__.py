"""Merge to model: plan, generate, train, evaluate, gate, report, release (model vN, git tag)."""
