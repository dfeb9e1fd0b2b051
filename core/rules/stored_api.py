"""/api/rules/...: drafts, submitting, approving, rejecting, retiring and reading stored rules (part A)."""
