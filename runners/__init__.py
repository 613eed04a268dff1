"""How jobs are executed: one `Runner` interface (runners.base), one engine per module."""
