"""Adopting seedtree in a taxonomy repository: ``seedtree init`` and the files it generates."""
