"""The taxonomy: leaves loaded with their positions, content hashes, documents, what changed."""
