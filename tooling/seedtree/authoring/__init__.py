"""Writing leaves: ``seedtree new`` (scaffold), ``fmt`` and ``migrate``."""
