"""`mtharness serve`: a local, read-only web browser over run folders (docs/browsing.md)."""
