"""Tasks for committee; thin wrappers around cfp operations."""
