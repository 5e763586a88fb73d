"""Errors a user can fix: the CLI prints them as one clear message and exits 1, never with a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Base of every error caused by input (a file, a target set, an option), not by a bug."""
