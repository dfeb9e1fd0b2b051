"""Rules in force: the compiled rule books per institution, stage and day (``books``) and their API."""
