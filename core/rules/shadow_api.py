"""/api/rules/...: the shadow report (part C)."""
