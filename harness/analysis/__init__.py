"""Statistics, curves, comparisons and reports over stored runs."""
