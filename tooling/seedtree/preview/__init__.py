"""Pull-request previews: changed leaves -> generation preview -> markdown -> PR comment."""
