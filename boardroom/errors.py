"""Errors that end a command with a one-line explanation instead of a traceback."""


class ConfigError(Exception):
    """Bad or missing configuration; the message is meant for a person."""
