"""Shared marshmallow bits for the API edge."""

from __future__ import annotations

from marshmallow import RAISE, Schema


class StrictSchema(Schema):
    """Unknown fields are an error naming them, never silently dropped."""

    class Meta:
        unknown = RAISE
        ordered = True
