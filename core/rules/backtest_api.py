"""/api/rules/...: backtests (part B)."""
