"""Early warning (预警): the nightly post-loan scan, warnings, tasks, escalation and the five-tier classification."""
