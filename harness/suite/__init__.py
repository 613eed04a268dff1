"""Suite files: parse, validate and resolve them before anything runs."""

from harness.suite.errors import SuiteError
from harness.suite.load import find_suite, load_suite
from harness.suite.schema import AlgorithmEntry, Suite

__all__ = ["AlgorithmEntry", "Suite", "SuiteError", "find_suite", "load_suite"]
