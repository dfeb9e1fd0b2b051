"""Whole-village credit (整村授信): rosters, peer review, pre-credit, credit villages, annual review."""
