"""The token every console form (and every script's POST) carries against cross-site requests.

A ``nongxin_csrf`` cookie holds a random value (HttpOnly, SameSite=Strict); a form's token is its
HMAC under the app's secret key. A POST is accepted only when its ``csrf_token`` field (or its
``X-CSRF-Token`` header) is the HMAC of the cookie it came with: another site can make a browser
send the cookie but can neither read it nor compute the HMAC. The sign-in form carries one too,
so no one can sign a victim into an account of theirs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE = "nongxin_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def new_cookie() -> str:
    return secrets.token_urlsafe(32)


def token_for(secret_key: str, cookie: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), b"csrf:" + cookie.encode("utf-8"), hashlib.sha256).hexdigest()


def valid(secret_key: str, cookie: str | None, sent: str | None) -> bool:
    if not cookie or not sent:
        return False
    return hmac.compare_digest(token_for(secret_key, cookie), sent)
