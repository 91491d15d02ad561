"""harness: prove locally that a containerized AWS service scales and alerts as its template says."""

__version__ = "0.1.0"
