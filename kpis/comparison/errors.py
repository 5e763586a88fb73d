"""The one error of the comparison stage."""

from __future__ import annotations

from ..errors import UserError


class CompareError(UserError, ValueError):
    """An input that cannot be compared; the message names the file (and row or KPI) and how to fix it."""
