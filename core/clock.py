"""Wall time and the bank's business date: the one place the core reads the system clock.

``Clock.now()`` is the aware UTC wall time (timestamps in rows and logs). ``Clock.business_date()``
is the date the books are at: an explicit as-of date when one was set (``clock.as_of(day)``, used
by tests and by jobs run for a past date with ``--as-of``), else what the ``books`` callable says.
``bootstrap`` passes ``books=`` the day close's cached reader (``credit.day_close.Books``): the day
after the last date every county bank has closed. Until a day was ever closed it says None and the
business date is the calendar date in China (UTC+8, no daylight saving since 1991).

Nothing else in ``core/``, ``sdk/`` or ``plugins/`` calls ``date.today()`` or ``datetime.now()``
(a test greps the tree); a hook reads the business date from ``ctx.business_date``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Callable

#: China Standard Time, the SDK's one definition (consent days are counted in it too). A fixed
#: offset rather than a tz database entry: China has observed UTC+8 all year since 1991, and the
#: fixed offset needs no tzdata on the host.
from nongxin.sdk.bureau import CHINA

__all__ = ["CHINA", "Clock", "utc_now"]


def utc_now() -> datetime:
    """The system's wall time, aware, in UTC."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Clock:
    """Injected callables, no globals: a test passes ``wall=lambda: fixed`` or uses ``as_of``."""

    wall: Callable[[], datetime] = utc_now
    #: The day close's stored business date; None means "no books yet".
    books: Callable[[], date | None] = lambda: None
    fixed: date | None = None

    def now(self) -> datetime:
        """Aware UTC wall time."""
        return self.wall().astimezone(timezone.utc)

    def business_date(self) -> date:
        """The date the books are at: the as-of date if set, else the stored one, else today in China."""
        if self.fixed is not None:
            return self.fixed
        stored = self.books()
        if stored is not None:
            return stored
        return self.wall().astimezone(CHINA).date()

    def as_of(self, day: date) -> Clock:
        """A clock whose business date is ``day`` (the wall time still runs)."""
        if not isinstance(day, date) or isinstance(day, datetime):
            raise TypeError(f"as_of takes a date, got {type(day).__name__}")
        return replace(self, fixed=day)
