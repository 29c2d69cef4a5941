"""Tasks for proposals; thin wrappers around cfp operations."""
