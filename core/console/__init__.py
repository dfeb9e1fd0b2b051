"""The web console (管理台): server-rendered pages for staff, on the same services as the API.

The promise: a page reaches the database and the plugins only through the services the API uses,
with the signed-in user's :class:`~nongxin.core.auth.Principal`, so the permission table and the
404-for-another-bank rule hold on every page exactly as on every endpoint (the permission walk in
``tests/core/test_permissions.py`` covers the console's routes too).

- ``signin``: passwords (scrypt), sign-in with lockout, console sessions; audited.
- ``csrf``: the token every form and every script's POST carries.
- ``web``: the blueprint, the page decorator, error pages, the navigation.
- one ``*_pages.py`` module per area (plugins, credit, dashboard, admin, rules).
"""
