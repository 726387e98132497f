"""Deterministic workflow code only. Activities and models come in through the sandbox pass-through."""
