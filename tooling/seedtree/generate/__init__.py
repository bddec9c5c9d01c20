"""Taxonomy-driven synthetic data generation (LAB): pipelines, judges, dedup, store and resume.

Entry points: :func:`seedtree.generate.run.generate_leaves` and
:func:`seedtree.generate.run.estimate`.
"""
