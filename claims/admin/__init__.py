"""The support console: claims in the Django admin (see claim.py; action pages in console.py and actions.py)."""

from .claim import ClaimAdmin

__all__ = ["ClaimAdmin"]
