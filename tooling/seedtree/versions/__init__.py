"""Released model versions: lineage, tags, artifacts and the store, chat, and the `models`
commands. Importable without training dependencies."""
