"""Boardroom: a business's whole lifecycle as long-lived Temporal workflows."""

__version__ = "0.1.0"
