"""The permission table, walked: every endpoint x every role x every scope answers as the table says.

Each endpoint of the app's url_map has an entry below: the action it performs, how its object is
scoped, and a request builder giving, for a scope, a valid request on an object of that scope:

- ``own``: an object of the Jinan county bank (JNRCB),
- ``branch``: an object at one of its branches (JNRCB-LX),
- ``other``: an object of another county bank (LYRCB),
- ``missing``: an object that does not exist.

The callers are the province admin, a user of every role at the county bank and one of every role
at the branch. The expected status follows from ``PERMISSIONS`` and where the caller sits: 2xx if
the caller sees the object and may, 403 if they see it and may not, 404 if they cannot see it.
A view that refuses early (``permission_required``, 403 before the body is validated) answers 403
to a role that may not, whatever the object: the same answer as for a missing object, so it tells
nothing about another bank. The table, this docstring's rules and the README cannot drift apart:
the last tests compare them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pytest
import sqlalchemy as sa

from nongxin.core import permissions
from nongxin.core.auth import Principal
from nongxin.core.console import csrf
from nongxin.core.console.signin import start_session
from nongxin.core.console.web import SESSION_COOKIE
from nongxin.core.db import UnitOfWork, utcnow
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions import users
from nongxin.core.institutions.models import Level, Role, User
from nongxin.core.permissions import PERMISSIONS, Action

OWN, BRANCH, OTHER, MISSING = "own", "branch", "other", "missing"
SCOPES = (OWN, BRANCH, OTHER, MISSING)
#: Where each scope's object lives, and the county bank that owns it.
PLACE = {OWN: "JNRCB", BRANCH: "JNRCB-LX", OTHER: "LYRCB", MISSING: "NOPE"}
BANK = {OWN: "JNRCB", BRANCH: "JNRCB", OTHER: "LYRCB", MISSING: "NOPE"}
#: Users that are objects of the user endpoints, never callers (a token for oneself rotates it).
TARGETS = {OWN: "target.own", BRANCH: "target.branch", OTHER: "target.other", MISSING: "nobody"}
PLUGIN = "provincial_products"
WALK_CSRF = "walk-csrf-cookie"
PERSON = {"kind": "resident_id", "id_number": "11010519491231002X", "name": "张三"}
EVIDENCE = {"ref": "archive://JNRCB/2026/auth-0001.pdf", "sha256": "ab" * 32}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None
    data: Any = None  # a multipart form (a file upload), instead of a JSON body
    headers: Any = None  # besides the caller's token (an Idempotency-Key)


@dataclass
class World:
    """The demo province plus what the walk needs: a user of each role at a county bank and at
    a branch, target users in each scope, and live authorizations at two county banks."""

    app: Any
    tokens: dict[str, str]
    callers: dict[str, Principal] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    authorizations: dict[str, int] = field(default_factory=dict)
    counter: Iterator[int] = field(default_factory=itertools.count)
    customers: dict[str, int] = field(default_factory=dict)
    applications: dict[str, int] = field(default_factory=dict)
    products_reset: bool = False
    caller: str = ""  # the username the walk is about to call as (set before each build)
    in_review: dict[str, int] = field(default_factory=dict)
    console: dict[str, str] = field(default_factory=dict)  # a console session cookie per caller

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def authorization(self, bank: str) -> int:
        """A fresh live authorization of ``bank`` for PERSON, recorded by a reviewer there."""
        from nongxin.core.bureau.services import SubjectInput, record_authorization

        with UnitOfWork(self.app.extensions["nongxin"].sessions) as unit:
            inst = institutions.get_by_code(unit.session, bank)
            assert inst is not None
            clerk = Principal(f"clerk.{bank.lower()}", Role.REVIEWER, inst.id, inst.code, inst.path)
            auth = record_authorization(unit, clerk, self.app.extensions["nongxin"].settings,
                                        subject=SubjectInput(**PERSON), purposes=["02"], channel="paper",
                                        evidence_ref=EVIDENCE["ref"], evidence_sha256=EVIDENCE["sha256"],
                                        granted_at=utcnow() - timedelta(days=1))
            unit.commit()
            return auth.id


    def offering(self) -> None:
        """Once, after the plugin entries switched the walk's product plugin on and off: back to
        its default (offered everywhere), so filing an application meets an offered product."""
        if self.products_reset:
            return
        import sqlalchemy as sa

        from nongxin.core.plugin_state.models import PluginSwitch
        from nongxin.core.plugin_state.services import bump_generation

        with UnitOfWork(self.app.extensions["nongxin"].sessions) as unit:
            unit.session.execute(sa.delete(PluginSwitch).where(PluginSwitch.plugin == PLUGIN))
            bump_generation(unit.session)
            unit.commit()
        self.products_reset = True

    def filing(self, s: str) -> Call:
        self.offering()
        return Call("POST", "/api/applications", {
            "customer": self.customers.get(s, 999999), "product": "XIN_E_DAI", "amount": "20000.00",
            "term_months": 12, "repayment_method": "equal_installment", "channel": "counter"})

    def application(self, s: str, *, fresh: bool = False) -> int:
        """An application filed at PLACE[s] (for MISSING an id that does not exist); ``fresh``: a
        new one each call (withdrawing closes it)."""
        if s == MISSING:
            return 999999
        if s in self.applications and not fresh:
            return self.applications[s]
        import sqlalchemy as sa

        from nongxin.core.credit.models import Application, ApplicationStatus, Channel
        from nongxin.core.customers.models import Customer

        with UnitOfWork(self.app.extensions["nongxin"].sessions) as unit:
            inst = institutions.get_by_code(unit.session, PLACE[s])
            assert inst is not None
            customer = unit.session.execute(sa.select(Customer).where(Customer.id == self.customers[s])).scalar_one()
            app = Application(number=self.unique(f"WALK-{s}-"), county_bank_id=customer.county_bank_id,
                              institution_id=inst.id, customer_id=customer.id, product_code="XIN_E_DAI",
                              amount=Decimal("20000.00"), term_months=12, repayment_method="equal_installment",
                              channel=Channel.COUNTER, status=ApplicationStatus.SUBMITTED,
                              filed_by_id=customer.manager_id)
            unit.session.add(app)
            unit.commit()
            self.applications.setdefault(s, app.id)
            return app.id

    def decided(self, s: str) -> int:
        """An application filed at PLACE[s] and decided (made once per scope)."""
        from nongxin.core.credit.decision import decide
        from nongxin.core.testing import file_application

        if s == MISSING:
            return 999999
        key = f"decided:{s}"
        if key not in self.names:
            app_id = file_application(self.app, place=PLACE[s], id_number=PERSON["id_number"], consent=("02",),
                                      filed_by="linyi.cm" if s == OTHER else "jinan.cm")
            rt = self.app.extensions["nongxin"]
            with UnitOfWork(rt.sessions) as unit:
                place = institutions.get_by_code(unit.session, BANK[s])
                assert place is not None
                cm = Principal("linyi.cm" if s == OTHER else "jinan.cm", Role.CUSTOMER_MANAGER, place.id,
                               place.code, place.path)
                assert decide(unit, cm, rt, app_id).decision is not None
            self.names[key] = str(app_id)
        return int(self.names[key])

    def line(self, s: str, *, fresh: bool = False, status: str = "active") -> int:
        """A credit line granted at PLACE[s] to the scope's customer (for MISSING an id that does
        not exist); ``fresh``: a new one each call (freezing and closing move it)."""
        if s == MISSING:
            return 999999
        key = f"line:{s}:{status}"
        if key in self.names and not fresh:
            return int(self.names[key])
        from nongxin.core.credit.models import CreditLine, CreditLineStatus
        from nongxin.core.customers.models import Customer

        with UnitOfWork(self.app.extensions["nongxin"].sessions) as unit:
            inst = institutions.get_by_code(unit.session, PLACE[s])
            customer = unit.session.get(Customer, self.customers[s])
            assert inst is not None and customer is not None
            line = CreditLine(number=self.unique(f"WALK-C-{s}-"), county_bank_id=customer.county_bank_id,
                              institution_id=inst.id, customer_id=customer.id, amount=Decimal("50000.00"),
                              annual_rate=Decimal("0.05"), products=["XIN_E_DAI"], start_on=date(2026, 1, 1),
                              end_on=date(2029, 1, 1), status=CreditLineStatus(status))
            unit.session.add(line)
            unit.commit()
            self.names.setdefault(key, str(line.id))
            return line.id

    def today(self) -> str:
        return self.app.extensions["nongxin"].clock.business_date().isoformat()

    def calendar_day(self) -> str:
        """A day of 2031 that has an override now (each call a new day), for DELETE to remove."""
        from datetime import date

        from nongxin.core.calendar.domain import DayKind
        from nongxin.core.calendar.services import set_day

        day = date(2031, 1, 1) + timedelta(days=next(self.counter) % 365)
        with UnitOfWork(self.app.extensions["nongxin"].sessions) as unit:
            root = institutions.get_by_code(unit.session, "SD")
            assert root is not None
            set_day(unit, Principal("province.admin", Role.PROVINCE_ADMIN, root.id, root.code, root.path),
                    day, DayKind.HOLIDAY, "")
            unit.commit()
        return day.isoformat()


    def drawable_line(self, s: str) -> int:
        """A credit line at PLACE[s] with room for every drawdown of the walk (made once per scope)."""
        from nongxin.core.testing import open_test_line

        if s == MISSING:
            return 999999
        key = f"drawable:{s}"
        if key not in self.names:
            self.names[key] = str(open_test_line(self.app, place=PLACE[s], amount="90000000.00",
                                                 manager=CUSTOMER_MANAGER[BANK[s]]))
        return int(self.names[key])

    def item(self, s: str, *, line: int | None = None, registration: str | None = None) -> int:
        """A new collateral item at PLACE[s] (pledged to ``line`` when given); 999999 for MISSING."""
        from nongxin.core.testing import open_test_item

        if s == MISSING:
            return 999999
        return open_test_item(self.app, place=PLACE[s], manager=CUSTOMER_MANAGER[BANK[s]], line_id=line,
                              registration=registration)

    def pledge(self, s: str, *, registration: str = "registered") -> int:
        """A new pledge of a new item at PLACE[s] to the scope's line (no exposure: releasable)."""
        import sqlalchemy as sa

        from nongxin.core.collateral.models import Pledge

        if s == MISSING:
            return 999999
        item = self.item(s, line=self.line(s), registration=registration)
        with UnitOfWork(self.app.extensions["nongxin"].sessions, write=False) as unit:
            return unit.session.execute(sa.select(Pledge.id).where(Pledge.item_id == item)).scalar_one()

    def loan(self, s: str) -> str:
        """A loan booked at PLACE[s] (made once per scope); for MISSING a number nobody has."""
        from nongxin.core.testing import open_test_loan

        if s == MISSING:
            return "NOPE-L2026-000001"
        key = f"loan:{s}"
        if key not in self.names:
            self.names[key] = open_test_loan(self.app, place=PLACE[s], manager=CUSTOMER_MANAGER[BANK[s]])
        return self.names[key]

    def class_request(self, s: str) -> int:
        """A new pending manual class request on the scope's loan, asked by someone else than any
        caller (issue 13 part C); 999999 for MISSING."""
        from nongxin.core.credit.models import Loan
        from nongxin.core.early_warning.models import ClassRequest, ClassRequestStatus
        import sqlalchemy as sa

        if s == MISSING:
            return 999999
        loan_no = self.loan(s)
        with UnitOfWork(self.app.extensions["nongxin"].sessions) as unit:
            loan = unit.session.execute(sa.select(Loan).where(Loan.loan_no == loan_no)).scalar_one()
            request = ClassRequest(loan_id=loan.id, county_bank_id=loan.county_bank_id, tier="normal", floor="normal",
                                   reason="walk", status=ClassRequestStatus.PENDING, requested_by="walk.maker",
                                   requested_on=loan.disbursed_on)
            unit.session.add(request)
            unit.commit()
            return request.id

    def valued_item(self, s: str) -> int:
        """A collateral item at PLACE[s] (made once per scope), with the simulated valuer switched on
        at the province so revaluing it succeeds; for MISSING an id that does not exist."""
        from nongxin.core.testing import open_test_item

        if s == MISSING:
            return 999999
        if "valuer_on" not in self.names:
            import sqlalchemy as sa

            from nongxin.core.plugin_state.models import PluginSwitch
            from nongxin.core.plugin_state.services import bump_generation

            with UnitOfWork(self.app.extensions["nongxin"].sessions) as unit:
                root = institutions.root(unit.session)
                assert root is not None
                unit.session.execute(sa.delete(PluginSwitch).where(PluginSwitch.plugin == "collateral_sim"))
                unit.session.add(PluginSwitch(institution_id=root.id, plugin="collateral_sim", enabled=True,
                                              settings=None, updated_by="test"))
                bump_generation(unit.session)
                unit.commit()
            self.names["valuer_on"] = "1"
        key = f"item:{s}"
        if key not in self.names:
            self.names[key] = str(open_test_item(self.app, place=PLACE[s], manager=CUSTOMER_MANAGER[BANK[s]]))
        return int(self.names[key])

    def review_application(self, scope: str, *, fresh: bool) -> int:
        """An application in manual review at the scope's place, filed by the caller about to call
        (so the investigation task is theirs); ``fresh`` makes a new one, else one per scope."""
        from nongxin.core.testing import manual_review_application

        if scope == MISSING:
            return 999999
        if fresh or scope not in self.in_review:
            self.in_review[scope] = manual_review_application(
                self.app, place=PLACE[scope], filed_by=self.caller if fresh else "jinan.cm")
        return self.in_review[scope]

    def warning_task(self, s: str, *, fresh: bool) -> tuple[int, int]:
        """(warning id, task id) of an open warning on the scope's loan, its task assigned to the
        caller about to call (so a customer manager may close it); ``fresh`` makes a new one, else
        one per scope. (999999, 999999) for MISSING."""
        from nongxin.core.testing import open_test_warning

        if s == MISSING:
            return 999999, 999999
        key = f"warning:{s}"
        if fresh or key not in self.names:
            made = open_test_warning(self.app, self.loan(s), rule_code=self.unique("PL-"), assigned_to=self.caller)
            if not fresh:
                self.names[key] = f"{made[0]}:{made[1]}"
            return made
        a, b = self.names[key].split(":")
        return int(a), int(b)


Build = Callable[[World, str], "Call | None"]


@dataclass(frozen=True)
class Entry:
    """``action`` None: a public endpoint, called without a token. ``scope``: "subtree" (the
    object is visible within the caller's subtree), "bank" (within the caller's county bank, as
    consent and credit reports are) or None (no object: only the ``own`` scope is called)."""

    action: Action | None
    scope: str | None
    build: Build


def _inst_body(w: World, s: str) -> Call:
    level = "grid" if s == BRANCH else "branch"
    return Call("POST", "/api/institutions",
                {"code": w.unique("P-"), "name": "新网点", "level": level, "parent": PLACE[s]})


def _auth_id(w: World, s: str) -> int | None:
    return {OWN: w.authorizations["JNRCB"], OTHER: w.authorizations["LYRCB"], MISSING: 999999}.get(s)


def _fresh_auth(w: World, s: str) -> int | None:
    return {OWN: lambda: w.authorization("JNRCB"), OTHER: lambda: w.authorization("LYRCB"),
            MISSING: lambda: 999999}.get(s, lambda: None)()


def _bank_query(path: str) -> Build:
    return lambda w, s: None if s == BRANCH else Call("GET", f"{path}?institution={BANK[s]}")


def _parameter_body(w: World, s: str) -> Call | None:
    """A time limit (set at county level and above, so not at a branch) from a new future day each call."""
    from datetime import date

    if s == BRANCH:
        return None
    day = date.today() + timedelta(days=2 + next(w.counter))
    return Call("POST", "/api/parameters", {"name": "review.review_days", "institution": PLACE[s], "value": "3",
                                            "effective_from": day.isoformat()})


# issue 14 part A: stored rules are kept at province, city or county; their steps are taken by the
# owner institution's staff, so the walk calls a rule of Jinan (OWN) only as Jinan's own people,
# and another bank's rule (OTHER) only as those who cannot see it (404).
def _walk_rule(w: World, s: str, status: str, author: str = "walk.maker") -> int:
    """A stored admission rule of PLACE[s] in ``status`` by ``author`` (999999 for MISSING)."""
    from nongxin.core.rules.models import RuleStatus, StoredRule

    if s == MISSING:
        return 999999
    with UnitOfWork(w.app.extensions["nongxin"].sessions) as unit:
        place = institutions.get_by_code(unit.session, PLACE[s])
        assert place is not None
        row = StoredRule(code=w.unique("WALK-R"), version=1, name="walk", stage="admission", outcome="tag",
                         level=place.level.value, owner_id=place.id, expression="age > 200",
                         status=RuleStatus(status), author=author)
        unit.session.add(row)
        unit.commit()
        return row.id


def _rule_keeper(w: World, s: str) -> bool:
    caller = w.callers[w.caller]
    if s == OWN:
        return caller.institution_code == PLACE[OWN]
    return s == MISSING or (s == OTHER and not w.paths[PLACE[OTHER]].startswith(caller.institution_path))


def _rule_step(action: str, status: str, *, own: bool = False) -> Build:
    """``action`` on a fresh rule in ``status`` (``own``: written by the caller)."""
    def build(w: World, s: str) -> Call | None:
        if not _rule_keeper(w, s):
            return None
        rule = _walk_rule(w, s, status, w.caller if own else "walk.maker")
        if action == "edit":
            return Call("PATCH", f"/api/rules/{rule}", {"name": "走查修改"})
        return Call("POST", f"/api/rules/{rule}/{action}", {"note": "walk"})
    return build


def _rule_draft(w: World, s: str) -> Call | None:
    place = w.callers[w.caller].institution_code
    if place not in ("SD", PLACE[OWN]):
        return None
    return Call("POST", "/api/rules", {"code": w.unique("WALK-D"), "name": "walk", "stage": "admission",
                                       "outcome": "tag", "level": "province" if place == "SD" else "county",
                                       "expression": "age > 200"})


# issue 15 part D: pre-credit runs and offers, made through the ORM at PLACE[s] for the scope's
# customer (whose bureau consent is recorded once, so accepting files and decides for real).
def _walk_offer(w: World, s: str, *, fresh: bool = True) -> int:
    """An offered pre-credit offer on PLACE[s] for the scope's customer; 999999 for MISSING."""
    from nongxin.core.bureau.services import SubjectInput, record_authorization
    from nongxin.core.customers.models import Customer, Household
    from nongxin.core.village.models import OfferStatus, PrecreditOffer, PrecreditRun

    key = f"offer:{s}"
    if s == MISSING:
        return 999999
    if not fresh and key in w.names:
        return int(w.names[key])
    w.offering()
    rt = w.app.extensions["nongxin"]
    today = rt.clock.business_date()
    with UnitOfWork(rt.sessions) as unit:
        place, bank = (institutions.get_by_code(unit.session, PLACE[s]), institutions.get_by_code(unit.session, BANK[s]))
        customer = unit.session.get(Customer, w.customers[s])
        assert place is not None and bank is not None and customer is not None
        if f"consent:{s}" not in w.names:
            clerk = Principal(f"clerk.{bank.code.lower()}", Role.REVIEWER, bank.id, bank.code, bank.path)
            record_authorization(unit, clerk, rt.settings, subject=SubjectInput("resident_id", customer.id_number,
                                                                                customer.name),
                                 purposes=["02"], channel="paper", evidence_ref=EVIDENCE["ref"],
                                 evidence_sha256=EVIDENCE["sha256"], granted_at=utcnow() - timedelta(days=1))
            w.names[f"consent:{s}"] = "1"
        household = Household(county_bank_id=bank.id, grid_id=place.id, village="走查村", household_no=w.unique("H"))
        run = PrecreditRun(institution_id=place.id, product_code="XIN_E_DAI", business_date=today, status="done",
                           started_by="walk")
        unit.session.add_all([household, run])
        unit.session.flush()
        offer = PrecreditOffer(run_id=run.id, county_bank_id=bank.id, grid_id=place.id, household_id=household.id,
                               customer_id=customer.id, product_code="XIN_E_DAI", colour="green", outcome="approved",
                               status=OfferStatus.OFFERED, limit=Decimal("20000.00"), rate=Decimal("0.0435"),
                               business_date=today, expires_on=today + timedelta(days=30))
        unit.session.add(offer)
        unit.commit()
        w.names.setdefault(key, str(offer.id))
        w.names.setdefault(f"run:{s}", str(run.id))
        return offer.id


def _walk_run(w: World, s: str) -> int:
    return 999999 if s == MISSING else (_walk_offer(w, s, fresh=False) and int(w.names[f"run:{s}"]))


def _model_warning(w: World, s: str) -> int:
    """A fresh open model warning of the scope's county bank (issue 17 part C; closing closes it)."""
    if s == MISSING:
        return 999999
    from nongxin.core.scorecards.models import ModelWarning, ModelWarningStatus

    with UnitOfWork(w.app.extensions["nongxin"].sessions) as unit:
        bank = institutions.get_by_code(unit.session, BANK[s])
        assert bank is not None
        today = w.app.extensions["nongxin"].clock.business_date()
        row = ModelWarning(county_bank_id=bank.id, scorecard_code="WALK-SC", scorecard_version=1, segment="farmer",
                           subject=w.unique("v"), threshold=Decimal("0.25"), psi=Decimal("0.4"), population=200,
                           raised_on=today, last_psi=Decimal("0.4"), last_seen_on=today,
                           status=ModelWarningStatus.OPEN, note="")
        unit.session.add(row)
        unit.commit()
        return row.id


ENDPOINTS: Mapping[tuple[str, str], Entry] = {
    ("GET", "/api/institutions"): Entry(Action.INSTITUTION_READ, None, lambda w, s: Call("GET", "/api/institutions")),
    ("POST", "/api/institutions"): Entry(Action.INSTITUTION_CREATE, "subtree", _inst_body),
    ("GET", "/api/institutions/<code>"): Entry(
        Action.INSTITUTION_READ, "subtree", lambda w, s: Call("GET", f"/api/institutions/{PLACE[s]}")),
    ("PATCH", "/api/institutions/<code>"): Entry(
        Action.INSTITUTION_RENAME, "subtree",
        lambda w, s: Call("PATCH", f"/api/institutions/{PLACE[s]}", {"name": w.names.get(PLACE[s], "无")})),
    ("GET", "/api/users"): Entry(Action.USER_READ, None, lambda w, s: Call("GET", "/api/users")),
    ("POST", "/api/users"): Entry(
        Action.USER_CREATE, "subtree",
        lambda w, s: Call("POST", "/api/users", {"username": w.unique("new.user"), "display_name": "新",
                                                 "role": "reviewer", "institution": PLACE[s]})),
    ("PATCH", "/api/users/<username>"): Entry(
        Action.USER_ACTIVATE, "subtree", lambda w, s: Call("PATCH", f"/api/users/{TARGETS[s]}", {"active": True})),
    ("POST", "/api/users/<username>/tokens"): Entry(
        Action.TOKEN_ISSUE_OTHERS, "subtree",
        lambda w, s: Call("POST", f"/api/users/{TARGETS[s]}/tokens", {"days": 1})),
    ("GET", "/api/plugins"): Entry(
        Action.PLUGIN_LIST, "subtree", lambda w, s: Call("GET", f"/api/plugins?institution={PLACE[s]}")),
    ("POST", "/api/plugins/<name>/enable"): Entry(
        Action.PLUGIN_SWITCH, "subtree",
        lambda w, s: Call("POST", f"/api/plugins/{PLUGIN}/enable", {"institution": PLACE[s]})),
    ("POST", "/api/plugins/<name>/disable"): Entry(
        Action.PLUGIN_SWITCH, "subtree",
        lambda w, s: Call("POST", f"/api/plugins/{PLUGIN}/disable", {"institution": PLACE[s]})),
    ("POST", "/api/plugins/<name>/inherit"): Entry(
        Action.PLUGIN_SWITCH, "subtree",
        lambda w, s: Call("POST", f"/api/plugins/{PLUGIN}/inherit", {"institution": PLACE[s]})),
    ("GET", "/api/plugins/<name>/settings"): Entry(
        Action.PLUGIN_SETTINGS_READ, "subtree",
        lambda w, s: Call("GET", f"/api/plugins/{PLUGIN}/settings?institution={PLACE[s]}")),
    ("PUT", "/api/plugins/<name>/settings"): Entry(
        Action.PLUGIN_SETTINGS_CHANGE, "subtree",
        lambda w, s: Call("PUT", f"/api/plugins/{PLUGIN}/settings",
                          {"institution": PLACE[s], "settings": {"spread_bp": 150}})),
    ("POST", "/api/plugins/<name>/reset"): Entry(
        Action.PLUGIN_BREAKER_RESET, "subtree",
        lambda w, s: Call("POST", f"/api/plugins/{PLUGIN}/reset", {"institution": PLACE[s]})),
    ("GET", "/api/products"): Entry(
        Action.PRODUCT_LIST, "subtree", lambda w, s: Call("GET", f"/api/products?institution={PLACE[s]}")),
    ("GET", "/api/rules"): Entry(
        Action.RULES_READ, "subtree",
        lambda w, s: Call("GET", f"/api/rules?institution={PLACE[s]}&stage=admission")),
    ("GET", "/api/rules/shadow-report"): Entry(  # issue 14, part C
        Action.RULES_READ, "subtree", lambda w, s: Call("GET", f"/api/rules/shadow-report?institution={PLACE[s]}")),
    ("POST", "/api/rules/check"): Entry(
        Action.RULES_CHECK, None,
        lambda w, s: Call("POST", "/api/rules/check", {"stage": "admission", "expression": "age < 22"})),
    ("GET", "/api/rules/fields"): Entry(
        Action.RULES_CHECK, None, lambda w, s: Call("GET", "/api/rules/fields?stage=admission")),
    ("POST", "/api/rules/backtest"): Entry(
        Action.RULES_BACKTEST, "subtree",
        lambda w, s: Call("POST", "/api/rules/backtest", {"stage": "post_loan", "expression": "overdue_days > 30",
                                                          "institution": PLACE[s], "sample": 1})),
    ("GET", "/api/audit"): Entry(Action.AUDIT_READ, None, lambda w, s: Call("GET", "/api/audit")),
    ("GET", "/api/audit/verify"): Entry(Action.AUDIT_VERIFY, None, lambda w, s: Call("GET", "/api/audit/verify")),
    ("POST", "/api/bureau/authorizations"): Entry(
        Action.BUREAU_AUTHORIZE, None,
        lambda w, s: Call("POST", "/api/bureau/authorizations",
                          {"subject": PERSON, "purposes": ["02"], "channel": "paper", "evidence": EVIDENCE})),
    ("GET", "/api/bureau/authorizations"): Entry(
        Action.BUREAU_AUTHORIZATION_READ, None, lambda w, s: Call("GET", "/api/bureau/authorizations")),
    ("GET", "/api/bureau/authorizations/<int:auth_id>"): Entry(
        Action.BUREAU_AUTHORIZATION_READ, "bank",
        lambda w, s: None if s == BRANCH else Call("GET", f"/api/bureau/authorizations/{_auth_id(w, s)}")),
    ("POST", "/api/bureau/authorizations/<int:auth_id>/revoke"): Entry(
        Action.BUREAU_AUTHORIZATION_REVOKE, "bank",
        lambda w, s: None if s == BRANCH else Call("POST", f"/api/bureau/authorizations/{_fresh_auth(w, s)}/revoke")),
    ("POST", "/api/bureau/queries"): Entry(
        Action.BUREAU_QUERY, None,
        lambda w, s: Call("POST", "/api/bureau/queries",
                          {"subject": PERSON, "purpose": "02", "for": {"kind": "application", "ref": "APP-1"}})),
    ("GET", "/api/bureau/queries"): Entry(Action.BUREAU_LOG_READ, "bank", _bank_query("/api/bureau/queries")),
    ("GET", "/api/bureau/queries/counts"): Entry(
        Action.BUREAU_LOG_COUNT, "bank", _bank_query("/api/bureau/queries/counts")),
    ("GET", "/api/calendar/days"): Entry(Action.CALENDAR_READ, None, lambda w, s: Call("GET", "/api/calendar/days")),
    ("PUT", "/api/calendar/days/<day>"): Entry(
        Action.CALENDAR_CHANGE, None, lambda w, s: Call("PUT", "/api/calendar/days/2030-02-02", {"kind": "workday"})),
    ("DELETE", "/api/calendar/days/<day>"): Entry(
        Action.CALENDAR_CHANGE, None, lambda w, s: Call("DELETE", f"/api/calendar/days/{w.calendar_day()}")),
    ("GET", "/api/calendar/workdays"): Entry(
        Action.CALENDAR_READ, None, lambda w, s: Call("GET", "/api/calendar/workdays?start=2026-11-23&add=3")),
    ("GET", "/api/parameters"): Entry(
        Action.PARAMETER_READ, "subtree", lambda w, s: Call("GET", f"/api/parameters?institution={PLACE[s]}")),
    ("GET", "/api/parameters/<name>/history"): Entry(
        Action.PARAMETER_READ, "subtree",
        lambda w, s: Call("GET", f"/api/parameters/lpr.1y/history?institution={PLACE[s]}")),
    ("POST", "/api/parameters"): Entry(Action.PARAMETER_CHANGE, "subtree", _parameter_body),
    ("POST", "/api/applications/<int:application_id>/decide"): Entry(
        Action.APPLICATION_DECIDE, "subtree",
        lambda w, s: Call("POST", f"/api/applications/{w.application(s, fresh=True)}/decide")),
    ("GET", "/api/applications/<int:application_id>/decision"): Entry(
        Action.DECISION_READ, "subtree", lambda w, s: Call("GET", f"/api/applications/{w.decided(s)}/decision")),
    ("POST", "/api/applications/<int:application_id>/decision/replay"): Entry(
        Action.DECISION_REPLAY, "subtree",
        lambda w, s: Call("POST", f"/api/applications/{w.decided(s)}/decision/replay", {"rules": "stored"})),
    # manual review: the walk exercises the investigation tier (a fresh application whose
    # investigation task is the caller's); the review and approval tiers are in tests/core/credit
    ("POST", "/api/applications/<int:application_id>/review"): Entry(
        Action.REVIEW_INVESTIGATE, "subtree",
        lambda w, s: Call("POST", f"/api/applications/{w.review_application(s, fresh=True)}/review",
                          {"opinion": "agree", "comment": "走访核实"})),
    ("GET", "/api/applications/<int:application_id>/review"): Entry(
        Action.APPLICATION_READ, "subtree",
        lambda w, s: Call("GET", f"/api/applications/{w.review_application(s, fresh=False)}/review")),
    ("POST", "/api/loans/<loan_no>/repayments"): Entry(
        Action.LOAN_REPAY, "subtree",
        lambda w, s: Call("POST", f"/api/loans/{w.loan(s)}/repayments", {"amount": "1.00", "paid_on": "2026-02-15"},
                          headers={"Idempotency-Key": w.unique("repay-")})),
    ("GET", "/api/review/overdue"): Entry(
        Action.REVIEW_OVERDUE, "subtree", lambda w, s: Call("GET", f"/api/review/overdue?institution={PLACE[s]}")),
    ("PUT", "/api/users/<username>/approval-limit"): Entry(
        Action.USER_ACTIVATE, "subtree",
        lambda w, s: Call("PUT", f"/api/users/{TARGETS[s]}/approval-limit", {"amount": None})),
    ("GET", "/api/collateral/shortfalls"): Entry(  # issue 12 part D: computed on request, no writes
        Action.COLLATERAL_READ, "subtree", lambda w, s: Call("GET", f"/api/collateral/shortfalls?institution={PLACE[s]}")),
    # credit lines (issue 11, part B)
    ("GET", "/api/credit-lines"): Entry(
        Action.CREDIT_LINE_READ, None, lambda w, s: Call("GET", "/api/credit-lines")),
    ("GET", "/api/credit-lines/<int:line_id>"): Entry(
        Action.CREDIT_LINE_READ, "subtree", lambda w, s: Call("GET", f"/api/credit-lines/{w.line(s)}")),
    ("POST", "/api/credit-lines/<int:line_id>/freeze"): Entry(
        Action.CREDIT_LINE_FREEZE, "subtree",
        lambda w, s: Call("POST", f"/api/credit-lines/{w.line(s, fresh=True)}/freeze", {"reason": "排查"})),
    ("POST", "/api/credit-lines/<int:line_id>/unfreeze"): Entry(
        Action.CREDIT_LINE_FREEZE, "subtree",
        lambda w, s: Call("POST", f"/api/credit-lines/{w.line(s, fresh=True, status='frozen')}/unfreeze", {})),
    ("POST", "/api/credit-lines/<int:line_id>/close"): Entry(
        Action.CREDIT_LINE_CLOSE, "subtree",
        lambda w, s: Call("POST", f"/api/credit-lines/{w.line(s, fresh=True)}/close", {"reason": "结清"})),
    # collateral (issue 12, part C): automatic valuation
    ("POST", "/api/collateral/<int:item_id>/revalue"): Entry(
        Action.COLLATERAL_VALUE, "subtree",
        lambda w, s: Call("POST", f"/api/collateral/{w.valued_item(s)}/revalue", {})),
    # early warning (issue 13, part B): warnings and their tasks
    ("GET", "/api/warnings"): Entry(
        Action.WARNING_READ, "subtree", lambda w, s: Call("GET", f"/api/warnings?institution={PLACE[s]}")),
    ("GET", "/api/warnings/counts"): Entry(
        Action.WARNING_READ, "subtree", lambda w, s: Call("GET", f"/api/warnings/counts?by=rule&institution={PLACE[s]}")),
    ("GET", "/api/warnings/<int:warning_id>"): Entry(
        Action.WARNING_READ, "subtree",
        lambda w, s: Call("GET", f"/api/warnings/{w.warning_task(s, fresh=False)[0]}")),
    ("GET", "/api/tasks"): Entry(
        Action.WARNING_READ, "subtree", lambda w, s: Call("GET", f"/api/tasks?institution={PLACE[s]}")),
    ("POST", "/api/tasks/<int:task_id>/close"): Entry(
        Action.WARNING_TASK_CLOSE, "subtree",
        lambda w, s: Call("POST", f"/api/tasks/{w.warning_task(s, fresh=True)[1]}/close",
                          {"findings": "走访核实", "disposal": "monitor", "evidence": ["DOC-1"]})),
    ("POST", "/api/tasks/<int:task_id>/reassign"): Entry(
        Action.WARNING_TASK_REASSIGN, "subtree",
        lambda w, s: Call("POST", f"/api/tasks/{w.warning_task(s, fresh=False)[1]}/reassign",
                          {"to": CUSTOMER_MANAGER[BANK[s]]})),
    ("GET", "/api/docs"): Entry(None, None, lambda w, s: Call("GET", "/api/docs")),
    ("GET", "/api/docs/plain"): Entry(None, None, lambda w, s: Call("GET", "/api/docs/plain")),
    ("GET", "/api/docs/init.js"): Entry(None, None, lambda w, s: Call("GET", "/api/docs/init.js")),
    ("GET", "/api/docs/static/<name>"): Entry(
        None, None, lambda w, s: Call("GET", "/api/docs/static/swagger-ui.css")),
    ("GET", "/api/openapi.json"): Entry(None, None, lambda w, s: Call("GET", "/api/openapi.json")),
    ("GET", "/healthz"): Entry(None, None, lambda w, s: Call("GET", "/healthz")),
    ("POST", "/api/applications"): Entry(Action.APPLICATION_FILE, "subtree", lambda w, s: w.filing(s)),
    ("GET", "/api/applications"): Entry(
        Action.APPLICATION_READ, "subtree", lambda w, s: Call("GET", f"/api/applications?institution={PLACE[s]}")),
    ("GET", "/api/applications/<int:application_id>"): Entry(
        Action.APPLICATION_READ, "subtree", lambda w, s: Call("GET", f"/api/applications/{w.application(s)}")),
    ("POST", "/api/applications/<int:application_id>/withdraw"): Entry(
        Action.APPLICATION_WITHDRAW, "subtree",
        lambda w, s: Call("POST", f"/api/applications/{w.application(s, fresh=True)}/withdraw", {"reason": "撤回"})),
    ("GET", "/static/<path:filename>"): Entry(None, None, lambda w, s: None),
    ("POST", "/api/customers"): Entry(Action.CUSTOMER_CREATE, "subtree", lambda w, s: Call(
        "POST", "/api/customers", _customer_body(w, CUSTOMER_GRID[s]))),
    ("GET", "/api/customers"): Entry(
        Action.CUSTOMER_READ, "subtree", lambda w, s: Call("GET", f"/api/customers?grid={CUSTOMER_GRID[s]}")),
    ("GET", "/api/customers/<int:customer_id>"): Entry(
        Action.CUSTOMER_READ, "subtree", lambda w, s: Call("GET", f"/api/customers/{_customer_at(w, CUSTOMER_GRID[s])}")),
    ("POST", "/api/customers/import"): Entry(Action.CUSTOMER_IMPORT, None, lambda w, s: Call(
        "POST", "/api/customers/import", data={"file": (_customer_file(w), "customers.csv")})),
    # issue 13 part E: court lists
    ("POST", "/api/watchlists/import"): Entry(
        Action.WATCHLIST_IMPORT, "bank",
        lambda w, s: Call("POST", "/api/watchlists/import", {"kind": "enforcement", "county": BANK[s], "rows": [
            {"id_number": "11010519491231002X", "name": "张三", "case_no": "(2026)京0105执1号",
             "court": "朝阳区人民法院", "listed_on": "2026-01-05"}]})),
    ("GET", "/api/watchlists"): Entry(
        Action.WARNING_READ, None, lambda w, s: Call("GET", "/api/watchlists?kind=enforcement")),
    # issue 11 part C: drawdowns and loans
    ("POST", "/api/credit-lines/<int:line_id>/drawdowns"): Entry(
        Action.LOAN_DRAW, "subtree",
        lambda w, s: Call("POST", f"/api/credit-lines/{w.drawable_line(s)}/drawdowns",
                          {"amount": "2000.00", "term_months": 6, "repayment_method": "equal_installment",
                           "account": "6228480000000001"}, headers={"Idempotency-Key": w.unique("walk-")})),
    # issue 12 part B: pledges, registration, release, a line's cover
    ("POST", "/api/collateral/<int:item_id>/pledges"): Entry(
        Action.COLLATERAL_PLEDGE, "subtree",
        lambda w, s: Call("POST", f"/api/collateral/{w.item(s)}/pledges", {"credit_line": w.line(s)})),
    ("POST", "/api/collateral/pledges/<int:pledge_id>/registration"): Entry(
        Action.COLLATERAL_PLEDGE, "subtree",
        lambda w, s: Call("POST", f"/api/collateral/pledges/{w.pledge(s, registration='pending')}/registration",
                          {"registration_no": "鲁(2026)济南市不动产证明第0000001号",
                           "registered_on": w.app.extensions["nongxin"].clock.business_date().isoformat()})),
    ("POST", "/api/collateral/pledges/<int:pledge_id>/release"): Entry(
        Action.COLLATERAL_RELEASE, "subtree",
        lambda w, s: Call("POST", f"/api/collateral/pledges/{w.pledge(s)}/release", {"reason": "结清"})),
    ("GET", "/api/credit-lines/<int:line_id>/collateral"): Entry(
        Action.COLLATERAL_READ, "subtree", lambda w, s: Call("GET", f"/api/credit-lines/{w.line(s)}/collateral")),
    ("GET", "/api/loans"): Entry(Action.LOAN_READ, None, lambda w, s: Call("GET", "/api/loans")),
    # five-tier classification (issue 13, part C)
    ("GET", "/api/loans/<loan_no>/classification"): Entry(
        Action.CLASSIFICATION_READ, "subtree", lambda w, s: Call("GET", f"/api/loans/{w.loan(s)}/classification")),
    ("POST", "/api/loans/<loan_no>/classification"): Entry(
        Action.CLASSIFICATION_PROPOSE, "subtree",
        lambda w, s: Call("POST", f"/api/loans/{w.loan(s)}/classification", {"tier": "loss", "reason": "walk"})),
    ("POST", "/api/classification/requests/<int:request_id>/approve"): Entry(
        Action.CLASSIFICATION_APPROVE, "subtree",
        lambda w, s: Call("POST", f"/api/classification/requests/{w.class_request(s)}/approve", {})),
    ("POST", "/api/classification/requests/<int:request_id>/reject"): Entry(
        Action.CLASSIFICATION_APPROVE, "subtree",
        lambda w, s: Call("POST", f"/api/classification/requests/{w.class_request(s)}/reject", {})),
    ("GET", "/api/classification/requests"): Entry(
        Action.CLASSIFICATION_READ, None, lambda w, s: Call("GET", "/api/classification/requests")),
    ("GET", "/api/classification/npl"): Entry(
        Action.CLASSIFICATION_READ, "subtree", lambda w, s: Call("GET", f"/api/classification/npl?institution={PLACE[s]}")),
    ("GET", "/api/loans/<loan_no>"): Entry(
        Action.LOAN_READ, "subtree", lambda w, s: Call("GET", f"/api/loans/{w.loan(s)}")),
    # the annual review of credit lines (issue 15, part E)
    ("POST", "/api/annual-reviews/run"): Entry(
        Action.LINE_REVIEW, "subtree", lambda w, s: Call("POST", "/api/annual-reviews/run", {"institution": PLACE[s]})),
    ("GET", "/api/annual-reviews"): Entry(
        Action.CREDIT_LINE_READ, "subtree", lambda w, s: Call("GET", f"/api/annual-reviews?institution={PLACE[s]}")),
    ("GET", "/api/credit-lines/<int:line_id>/reviews"): Entry(
        Action.CREDIT_LINE_READ, "subtree", lambda w, s: Call("GET", f"/api/credit-lines/{w.line(s)}/reviews")),
    # collateral registry (issue 12, part A)
    ("POST", "/api/collateral"): Entry(
        Action.COLLATERAL_REGISTER, "subtree",
        lambda w, s: Call("POST", "/api/collateral", {
            "kind": "guarantee_person", "owner": w.customers.get(s, 999999), "institution": PLACE[s],
            "fields": {"contract_no": w.unique("GR-WALK-"), "amount": "100000.00"}, "declared_value": "100000.00"})),
    ("GET", "/api/collateral"): Entry(Action.COLLATERAL_READ, None, lambda w, s: Call("GET", "/api/collateral")),
    ("GET", "/api/collateral/kinds"): Entry(
        Action.COLLATERAL_READ, "subtree", lambda w, s: Call("GET", f"/api/collateral/kinds?institution={PLACE[s]}")),
    ("GET", "/api/collateral/<int:item_id>"): Entry(
        Action.COLLATERAL_READ, "subtree", lambda w, s: Call("GET", f"/api/collateral/{w.item(s)}")),
    ("GET", "/api/collateral/<int:item_id>/valuations"): Entry(
        Action.COLLATERAL_READ, "subtree", lambda w, s: Call("GET", f"/api/collateral/{w.item(s)}/valuations")),
    ("POST", "/api/collateral/<int:item_id>/valuations"): Entry(
        Action.COLLATERAL_VALUE, "subtree",
        lambda w, s: Call("POST", f"/api/collateral/{w.item(s)}/valuations", {
            "value": "480000.00", "method": "market", "valuer": "走查评估", "valued_on": w.today()})),
    # issue 14 part D: off-site monitoring models, kept and switched at the caller's own institution
    ("GET", "/api/monitoring/models"): Entry(
        Action.MONITORING_READ, None, lambda w, s: Call("GET", "/api/monitoring/models")),
    ("POST", "/api/monitoring/models"): Entry(
        Action.RULES_DRAFT, None, lambda w, s: _at_own_level(w, lambda place: Call(
            "POST", "/api/monitoring/models", {"code": w.unique("WALK-M"), "name": "走查模型", "stage": "post_loan"}))),
    ("GET", "/api/monitoring/models/<int:model_id>"): Entry(
        Action.MONITORING_READ, None, lambda w, s: Call("GET", f"/api/monitoring/models/{_model_at(w, 'JNRCB')}")),
    ("POST", "/api/monitoring/models/<int:model_id>/deactivate"): Entry(
        Action.RULES_DRAFT, None, lambda w, s: _at_own_level(w, lambda place: Call(
            "POST", f"/api/monitoring/models/{_model_at(w, place)}/deactivate", {"note": "走查"}))),
    ("POST", "/api/monitoring/models/<int:model_id>/activate"): Entry(
        Action.RULES_DRAFT, None, lambda w, s: _at_own_level(w, lambda place: Call(
            "POST", f"/api/monitoring/models/{_model_at(w, place)}/activate", {}))),
    ("GET", "/api/monitoring/records"): Entry(
        Action.MONITORING_READ, "subtree", lambda w, s: Call("GET", f"/api/monitoring/records?institution={PLACE[s]}")),
    # stored rules (issue 14, part A)
    ("POST", "/api/rules"): Entry(Action.RULES_DRAFT, None, _rule_draft),
    ("PATCH", "/api/rules/<int:rule_id>"): Entry(Action.RULES_DRAFT, "bank", _rule_step("edit", "draft", own=True)),
    ("POST", "/api/rules/<int:rule_id>/submit"): Entry(
        Action.RULES_DRAFT, "bank", _rule_step("submit", "draft", own=True)),
    ("POST", "/api/rules/<int:rule_id>/withdraw"): Entry(
        Action.RULES_DRAFT, "bank", _rule_step("withdraw", "pending_approval", own=True)),
    ("POST", "/api/rules/<int:rule_id>/approve"): Entry(
        Action.RULES_APPROVE, "bank", _rule_step("approve", "pending_approval")),
    ("POST", "/api/rules/<int:rule_id>/reject"): Entry(
        Action.RULES_APPROVE, "bank", _rule_step("reject", "pending_approval")),
    ("POST", "/api/rules/<int:rule_id>/retire"): Entry(Action.RULES_DRAFT, "bank", _rule_step("retire", "published")),
    ("GET", "/api/rules/stored"): Entry(Action.RULES_READ, None, lambda w, s: Call("GET", "/api/rules/stored")),
    ("GET", "/api/rules/<int:rule_id>"): Entry(
        Action.RULES_READ, "bank",
        lambda w, s: None if s == BRANCH else Call("GET", f"/api/rules/{_walk_rule(w, s, 'draft')}")),
    # back-to-back peer review (issue 15, part B): rounds on the scope's grid
    ("POST", "/api/review-rounds"): Entry(
        Action.VILLAGE_REVIEW, "subtree",
        lambda w, s: Call("POST", "/api/review-rounds", {"village": _walk_village(w, s)[0], "name": "走查评议"})),
    ("GET", "/api/review-rounds"): Entry(Action.VILLAGE_READ, None, lambda w, s: Call("GET", "/api/review-rounds")),
    ("GET", "/api/review-rounds/<int:round_id>"): Entry(
        Action.VILLAGE_READ, "subtree", lambda w, s: Call("GET", f"/api/review-rounds/{_walk_round(w, s)[0]}")),
    ("POST", "/api/review-rounds/<int:round_id>/reviewers"): Entry(
        Action.VILLAGE_REVIEW, "subtree",
        lambda w, s: Call("POST", f"/api/review-rounds/{_walk_round(w, s)[0]}/reviewers",
                          {"kind": "representative", "name": "村民代表", "id_number": _new_resident_id(w)})),
    ("PUT", "/api/review-rounds/<int:round_id>/ratings"): Entry(
        Action.VILLAGE_REVIEW, "subtree", lambda w, s: _walk_rating(w, s)),
    ("POST", "/api/review-rounds/<int:round_id>/close"): Entry(
        Action.VILLAGE_REVIEW_CLOSE, "subtree",
        lambda w, s: Call("POST", f"/api/review-rounds/{_walk_round(w, s, fresh=True)[0]}/close")),
    # issue 15 part D: batch pre-credit (an empty run at a county bank: no green household there)
    ("POST", "/api/precredit/runs"): Entry(
        Action.VILLAGE_PRECREDIT, "subtree",
        lambda w, s: None if s == BRANCH else Call("POST", "/api/precredit/runs",
                                                   {"institution": PLACE[s], "product": "XIN_E_DAI"})),
    ("GET", "/api/precredit/runs/<int:run_id>"): Entry(
        Action.VILLAGE_READ, "subtree", lambda w, s: Call("GET", f"/api/precredit/runs/{_walk_run(w, s)}")),
    ("GET", "/api/precredit/offers"): Entry(Action.VILLAGE_READ, None, lambda w, s: Call("GET", "/api/precredit/offers")),
    ("GET", "/api/precredit/offers/<int:offer_id>"): Entry(
        Action.VILLAGE_READ, "subtree",
        lambda w, s: Call("GET", f"/api/precredit/offers/{_walk_offer(w, s, fresh=False)}")),
    ("POST", "/api/precredit/offers/<int:offer_id>/accept"): Entry(
        Action.VILLAGE_OFFER, "subtree",
        lambda w, s: Call("POST", f"/api/precredit/offers/{_walk_offer(w, s)}/accept",
                          {"signature_ref": "esign://walk", "term_months": 12, "repayment_method": "equal_installment"})),
    ("POST", "/api/precredit/offers/<int:offer_id>/decline"): Entry(
        Action.VILLAGE_OFFER, "subtree",
        lambda w, s: Call("POST", f"/api/precredit/offers/{_walk_offer(w, s)}/decline", {"reason": "walk"})),
    # issue 15 part A: village rosters, villages and credit villages
    ("POST", "/api/villages/roster"): Entry(Action.VILLAGE_IMPORT, "subtree", lambda w, s: Call(
        "POST", "/api/villages/roster", data={"file": (_roster_file(w), "roster.csv"), "grid": CUSTOMER_GRID[s],
                                              "manager": CUSTOMER_MANAGER.get(BANK[s], "jinan.cm")})),
    ("GET", "/api/villages"): Entry(
        Action.VILLAGE_READ, "subtree", lambda w, s: Call("GET", f"/api/villages?institution={PLACE[s]}")),
    ("GET", "/api/villages/credit"): Entry(
        Action.VILLAGE_READ, "subtree", lambda w, s: Call("GET", f"/api/villages/credit?institution={PLACE[s]}")),
    ("GET", "/api/villages/<int:village_id>"): Entry(
        Action.VILLAGE_READ, "subtree", lambda w, s: Call("GET", f"/api/villages/{_village_at(w, CUSTOMER_GRID[s])}")),
    ("GET", "/api/villages/<int:village_id>/ratings"): Entry(
        Action.VILLAGE_READ, "subtree",
        lambda w, s: Call("GET", f"/api/villages/{_village_at(w, CUSTOMER_GRID[s])}/ratings")),
    ("POST", "/api/villages/rate"): Entry(
        Action.VILLAGE_RATE, "subtree",
        lambda w, s: Call("POST", "/api/villages/rate", {"village": _village_at(w, CUSTOMER_GRID[s])})),
    # issue 17 part C: scorecards in use, their stability (PSI) and model warnings
    ("GET", "/api/scorecards"): Entry(
        Action.SCORECARD_READ, "subtree", lambda w, s: Call("GET", f"/api/scorecards?institution={PLACE[s]}")),
    ("GET", "/api/scorecards/stability"): Entry(
        Action.SCORECARD_READ, "subtree", lambda w, s: Call("GET", f"/api/scorecards/stability?institution={PLACE[s]}")),
    ("POST", "/api/scorecards/stability/run"): Entry(
        Action.SCORECARD_MONITOR, "subtree",
        lambda w, s: Call("POST", "/api/scorecards/stability/run", {"institution": PLACE[s]})),
    ("GET", "/api/model-warnings"): Entry(
        Action.SCORECARD_READ, "subtree", lambda w, s: Call("GET", f"/api/model-warnings?institution={PLACE[s]}")),
    ("POST", "/api/model-warnings/<int:warning_id>/close"): Entry(
        Action.SCORECARD_MONITOR, "bank",
        lambda w, s: Call("POST", f"/api/model-warnings/{_model_warning(w, s)}/close", {"note": "walk"})),
    ("GET", "/api/scorecards/challengers"): Entry(  # issue 17 part D
        Action.SCORECARD_READ, "subtree", lambda w, s: Call("GET", f"/api/scorecards/challengers?institution={PLACE[s]}")),
    ("GET", "/api/scorecards/challengers/compare"): Entry(  # issue 17 part D
        Action.SCORECARD_READ, "subtree",
        lambda w, s: Call("GET", f"/api/scorecards/challengers/compare?institution={PLACE[s]}&segment=salaried")),
}


def _walk_village(w: World, s: str) -> tuple[int, int]:
    """A new village on the scope's grid with one household of one member: (village, household);
    (999999, 999999) for MISSING."""
    from nongxin.core.customers.models import Customer, CustomerKind, Household, Relation
    from nongxin.core.institutions.models import User
    from nongxin.core.village.models import Village
    import sqlalchemy as sa

    if s == MISSING:
        return 999999, 999999
    with UnitOfWork(w.app.extensions["nongxin"].sessions) as unit:
        grid = institutions.get_by_code(unit.session, CUSTOMER_GRID[s])
        bank = institutions.get_by_code(unit.session, BANK[s])
        assert grid is not None and bank is not None
        name = w.unique("走查村")
        village = Village(county_bank_id=bank.id, grid_id=grid.id, name=name)
        unit.session.add(village)
        unit.session.flush()
        household = Household(county_bank_id=bank.id, grid_id=grid.id, village=name, household_no="0001",
                              village_id=village.id)
        unit.session.add(household)
        unit.session.flush()
        manager = unit.session.execute(sa.select(User.id).where(User.username == CUSTOMER_MANAGER[BANK[s]])).scalar_one()
        unit.session.add(Customer(county_bank_id=bank.id, grid_id=grid.id, manager_id=manager,
                                  kind=CustomerKind.INDIVIDUAL, id_number=_new_resident_id(w), name="走查农户",
                                  household_id=household.id, relation=Relation.HEAD, created_by="walk"))
        unit.commit()
        return village.id, household.id


def _walk_round(w: World, s: str, *, fresh: bool = False) -> tuple[int, int, int]:
    """An open review round of a new village on the scope's grid, with one reviewer: (round,
    reviewer, household); one per scope unless ``fresh``; 999999s for MISSING."""
    from nongxin.core.village.models import ReviewRound, RoundReviewer

    if s == MISSING:
        return 999999, 999999, 999999
    key = f"round:{s}"
    if key in w.names and not fresh:
        a, b, c = w.names[key].split(":")
        return int(a), int(b), int(c)
    village, household = _walk_village(w, s)
    with UnitOfWork(w.app.extensions["nongxin"].sessions) as unit:
        grid = institutions.get_by_code(unit.session, CUSTOMER_GRID[s])
        bank = institutions.get_by_code(unit.session, BANK[s])
        assert grid is not None and bank is not None
        rnd = ReviewRound(county_bank_id=bank.id, grid_id=grid.id, village_id=village, name="走查", min_reviewers=1,
                          aggregation="any_black", opened_by="walk", opened_on=date(2026, 1, 5))
        unit.session.add(rnd)
        unit.session.flush()
        reviewer = RoundReviewer(round_id=rnd.id, kind="official", name="村干部", id_number=_new_resident_id(w))
        unit.session.add(reviewer)
        unit.commit()
        made = (rnd.id, reviewer.id, household)
    if not fresh:
        w.names[key] = ":".join(map(str, made))
    return made


def _walk_rating(w: World, s: str) -> Call:
    round_id, reviewer, household = _walk_round(w, s)
    return Call("PUT", f"/api/review-rounds/{round_id}/ratings", {
        "reviewer": reviewer, "household": household, "integrity": 3, "income": 3, "assets": 3, "business": 3,
        "health": 3, "colour": "green", "reason": ""})


def _at_own_level(w: World, build: Callable[[str], Call]) -> Call | None:
    """A model is kept at the caller's own institution, a province, city or county one (a branch
    keeps none: the level refusal is tested in tests/core/rules/test_monitoring.py)."""
    place = w.callers[w.caller].institution_code
    return None if place == PLACE[BRANCH] else build(place)


def _model_at(w: World, owner: str) -> int:
    """A new monitoring model owned by ``owner``."""
    from nongxin.core.testing import make_test_model

    return make_test_model(w.app, w.unique("WALK-M"), owner=owner)


#: The grid of each scope's customer: seen exactly by those who see PLACE[scope].
CUSTOMER_GRID = {OWN: "JNRCB-ZQ-G01", BRANCH: "JNRCB-LX-G01", OTHER: "LYRCB-LS-G01", MISSING: "NOPE"}
CUSTOMER_MANAGER = {"JNRCB": "jinan.cm", "LYRCB": "linyi.cm", "NOPE": "jinan.cm"}


def _new_resident_id(w: World) -> str:
    from nongxin.sdk.identity import make_resident_id

    return make_resident_id("370102", date(1950, 1, 1) + timedelta(days=next(w.counter)), 123)


def _customer_body(w: World, grid: str) -> dict[str, Any]:
    bank = grid.split("-")[0]
    return {"kind": "individual", "id_number": _new_resident_id(w), "name": "走查客户", "grid": grid,
            "manager": CUSTOMER_MANAGER.get(bank, "jinan.cm")}


def _customer_at(w: World, grid: str) -> int:
    """A customer filed at ``grid`` (the demo's, or one filed now); 999999 when there is no such grid."""
    import sqlalchemy as sa

    from nongxin.core.customers.models import Customer
    from nongxin.core.customers.services import CustomerInput, create_customer
    from nongxin.core.institutions.models import Institution

    with UnitOfWork(w.app.extensions["nongxin"].sessions, write=False) as unit:
        found = unit.session.execute(sa.select(Customer.id).join(Institution, Customer.grid_id == Institution.id)
                                     .where(Institution.code == grid)).scalars().first()
    if found is not None or grid == "NOPE":
        return found or 999999
    with UnitOfWork(w.app.extensions["nongxin"].sessions) as unit:
        body = _customer_body(w, grid)
        me = users.principal_named(unit.session, "jinan.admin")
        customer = create_customer(unit, me, CustomerInput(**body))
        unit.commit()
        return customer.id


def _customer_file(w: World) -> Any:
    import io

    text = ("kind,id_number,name,phone,address,occupation,employer,segment,annual_income,grid,manager,"
            "legal_representative,village,group,household_no,relation\n"
            f"individual,{_new_resident_id(w)},导入客户,,,,,,,JNRCB-LX-G01,jinan.cm,,,,,\n")
    return io.BytesIO(text.encode())


def _roster_file(w: World) -> Any:
    """A one-household village roster with a new resident ID (issue 15, part A)."""
    import io

    text = ("village,group,household_no,id_number,name,relation,phone,land_mu,main_business,assets,annual_income,"
            f"segment\n走查村,一组,{next(w.counter):04d},{_new_resident_id(w)},走查户主,head,,5,粮食种植,50000,,\n")
    return io.BytesIO(text.encode())


def _village_at(w: World, grid: str) -> int:
    """A village on ``grid`` (made now if it has none); 999999 when there is no such grid."""
    import sqlalchemy as sa

    from nongxin.core.institutions.models import Institution
    from nongxin.core.testing import make_test_village
    from nongxin.core.village.models import Village

    with UnitOfWork(w.app.extensions["nongxin"].sessions, write=False) as unit:
        found = unit.session.execute(sa.select(Village.id).join(Institution, Village.grid_id == Institution.id)
                                     .where(Institution.code == grid)).scalars().first()
    if found is not None or grid == "NOPE":
        return found or 999999
    return make_test_village(w.app, grid=grid, manager=CUSTOMER_MANAGER[grid.split("-")[0]], households=1).village_id


# -- the console's pages (issue 16) -------------------------------------------------------------
# Walked like the API, but signed in with a console session (a cookie) instead of a token, with the
# CSRF token added to every POST: a page answers 2xx (or a 303 after a form) where the table says
# yes, and the 403 or 404 page where it says no. One dict per area of the console, each kept by
# that area's module (core/console/<area>_pages.py).

CONSOLE_SIGNIN: Mapping[tuple[str, str], Entry] = {
    ("GET", "/"): Entry(None, None, lambda w, s: Call("GET", "/")),
    ("GET", "/console/"): Entry(None, None, lambda w, s: Call("GET", "/console/")),
    ("GET", "/console/signin"): Entry(None, None, lambda w, s: Call("GET", "/console/signin")),
    ("POST", "/console/signin"): Entry(None, None, lambda w, s: None),  # tests/core/console/test_signin.py
    ("POST", "/console/signout"): Entry(None, None, lambda w, s: None),  # tests/core/console/test_signin.py
    ("GET", "/console/static/<path:filename>"): Entry(
        None, None, lambda w, s: Call("GET", "/console/static/console.css")),
}

# console: plugins, settings, products, try it (part A)
CONSOLE_PLUGINS: Mapping[tuple[str, str], Entry] = {
    ("GET", "/console/plugins"): Entry(
        Action.PLUGIN_LIST, "subtree", lambda w, s: Call("GET", f"/console/plugins?institution={PLACE[s]}")),
    ("POST", "/console/plugins/<name>/switch"): Entry(  # "on": the products stay offered for the walk
        Action.PLUGIN_SWITCH, "subtree",
        lambda w, s: Call("POST", f"/console/plugins/{PLUGIN}/switch", data={"institution": PLACE[s], "to": "on"})),
    ("POST", "/console/plugins/<name>/reset"): Entry(
        Action.PLUGIN_BREAKER_RESET, "subtree",
        lambda w, s: Call("POST", f"/console/plugins/{PLUGIN}/reset", data={"institution": PLACE[s]})),
    ("GET", "/console/plugins/<name>/settings"): Entry(
        Action.PLUGIN_SETTINGS_READ, "subtree",
        lambda w, s: Call("GET", f"/console/plugins/{PLUGIN}/settings?institution={PLACE[s]}")),
    ("POST", "/console/plugins/<name>/settings"): Entry(
        Action.PLUGIN_SETTINGS_CHANGE, "subtree",
        lambda w, s: Call("POST", f"/console/plugins/{PLUGIN}/settings?institution={PLACE[s]}",
                          data={"s-spread_bp": str(140 + next(w.counter) % 50)})),
    ("GET", "/console/products"): Entry(
        Action.PRODUCT_LIST, "subtree", lambda w, s: Call("GET", f"/console/products?institution={PLACE[s]}")),
    ("GET", "/console/products/<product>/try"): Entry(
        Action.PRODUCT_TRY, "subtree",
        lambda w, s: Call("GET", f"/console/products/XIN_E_DAI/try?institution={PLACE[s]}")),
    ("POST", "/console/products/<product>/try"): Entry(
        Action.PRODUCT_TRY, "subtree",
        lambda w, s: Call("POST", f"/console/products/XIN_E_DAI/try?institution={PLACE[s]}",
                          data={"amount": "30000", "term_months": "12", "fact-annual_income": "120000"})),
}

# console: queues, applications, review and approval (part B)
CONSOLE_CREDIT: Mapping[tuple[str, str], Entry] = {
    ("GET", "/console/queue"): Entry(Action.APPLICATION_READ, None, lambda w, s: Call("GET", "/console/queue")),
    ("GET", "/console/applications/<int:application_id>"): Entry(
        Action.APPLICATION_READ, "subtree", lambda w, s: Call("GET", f"/console/applications/{w.decided(s)}")),
    # the form performs the caller's task tier; the walk gives the investigation opinion (as the API entry)
    ("POST", "/console/applications/<int:application_id>/review"): Entry(
        Action.REVIEW_INVESTIGATE, "subtree",
        lambda w, s: Call("POST", f"/console/applications/{w.review_application(s, fresh=True)}/review",
                          data={"opinion": "agree", "comment": "走访核实"})),
    ("POST", "/console/applications/<int:application_id>/decide"): Entry(
        Action.APPLICATION_DECIDE, "subtree",
        lambda w, s: Call("POST", f"/console/applications/{w.application(s, fresh=True)}/decide", data={})),
}

# console: dashboard, warnings and tasks (part C)
CONSOLE_DASHBOARD: Mapping[tuple[str, str], Entry] = {
    # the dashboard opens for a role that may read any of its charts (every role today), each chart
    # checking its own action: walked as decision.read for the roles that read decisions; the charts
    # of the other roles are in tests/core/console/test_dashboard_pages.py
    ("GET", "/console/dashboard"): Entry(
        Action.DECISION_READ, None,
        lambda w, s: Call("GET", "/console/dashboard")
        if w.callers[w.caller].role in PERMISSIONS[Action.DECISION_READ] else None),
    ("GET", "/console/warnings"): Entry(
        Action.WARNING_READ, "subtree", lambda w, s: Call("GET", f"/console/warnings?institution={PLACE[s]}")),
    ("GET", "/console/warnings/<int:warning_id>"): Entry(
        Action.WARNING_READ, "subtree",
        lambda w, s: Call("GET", f"/console/warnings/{w.warning_task(s, fresh=False)[0]}")),
    ("POST", "/console/tasks/<int:task_id>/close"): Entry(
        Action.WARNING_TASK_CLOSE, "subtree",
        lambda w, s: Call("POST", f"/console/tasks/{w.warning_task(s, fresh=True)[1]}/close",
                          data={"findings": "走访核实", "disposal": "monitor", "evidence": "DOC-1"})),
    ("POST", "/console/tasks/<int:task_id>/reassign"): Entry(
        Action.WARNING_TASK_REASSIGN, "subtree",
        lambda w, s: Call("POST", f"/console/tasks/{w.warning_task(s, fresh=False)[1]}/reassign",
                          data={"to": CUSTOMER_MANAGER[BANK[s]], "note": ""})),
}

# console: institutions, users, tokens, audit trail (part D)
def _live_token(w: World, s: str) -> str:
    """A fresh token of the target user in scope ``s`` (each revocation needs its own)."""
    if s == MISSING:
        return "nx_missing"
    with UnitOfWork(w.app.extensions["nongxin"].sessions) as unit:
        plain, _ = users.issue_token(unit, TARGETS[s], days=1, max_days=1)
        unit.commit()
    return plain[:10]


CONSOLE_ADMIN: Mapping[tuple[str, str], Entry] = {
    ("GET", "/console/institutions"): Entry(
        Action.INSTITUTION_READ, None, lambda w, s: Call("GET", "/console/institutions")),
    ("POST", "/console/institutions"): Entry(
        Action.INSTITUTION_CREATE, "subtree",
        lambda w, s: Call("POST", "/console/institutions", data=_inst_body(w, s).json)),
    ("GET", "/console/institutions/<code>"): Entry(
        Action.INSTITUTION_READ, "subtree", lambda w, s: Call("GET", f"/console/institutions/{PLACE[s]}")),
    ("POST", "/console/institutions/<code>/rename"): Entry(
        Action.INSTITUTION_RENAME, "subtree",
        lambda w, s: Call("POST", f"/console/institutions/{PLACE[s]}/rename", data={"name": w.names.get(PLACE[s], "无")})),
    ("GET", "/console/users"): Entry(Action.USER_READ, None, lambda w, s: Call("GET", "/console/users")),
    ("POST", "/console/users"): Entry(
        Action.USER_CREATE, "subtree",
        lambda w, s: Call("POST", "/console/users", data={"username": w.unique("console.user"), "display_name": "新",
                                                          "role": "reviewer", "institution": PLACE[s]})),
    ("POST", "/console/users/<username>/active"): Entry(
        Action.USER_ACTIVATE, "subtree",
        lambda w, s: Call("POST", f"/console/users/{TARGETS[s]}/active", data={"active": "1"})),
    ("GET", "/console/tokens"): Entry(Action.USER_READ, None, lambda w, s: Call("GET", "/console/tokens")),
    ("POST", "/console/tokens"): Entry(
        Action.TOKEN_ISSUE_OTHERS, "subtree",
        lambda w, s: Call("POST", "/console/tokens", data={"user": TARGETS[s], "days": "1"})),
    ("POST", "/console/tokens/<prefix>/revoke"): Entry(
        Action.TOKEN_REVOKE, "subtree",
        lambda w, s: Call("POST", f"/console/tokens/{_live_token(w, s)}/revoke", data={})),
    ("GET", "/console/audit"): Entry(Action.AUDIT_READ, None, lambda w, s: Call("GET", "/console/audit")),
    ("GET", "/console/audit/verify"): Entry(
        Action.AUDIT_VERIFY, None, lambda w, s: Call("GET", "/console/audit/verify")),
}

# console: rules, drafts, backtests, approvals (part E): the API's rule entries, on the pages
def _on_page(build: Build) -> Build:
    """The API call ``build`` makes, as the console page's form: /api/rules/... -> /console/rules/..."""
    def page(w: World, s: str) -> Call | None:
        call = build(w, s)
        if call is None:
            return None
        path = call.path.replace("/api/rules", "/console/rules", 1)
        if path == "/console/rules":  # POST /api/rules drafts; the page is the editor's
            path += "/new"
        if call.method == "PATCH":
            return Call("POST", f"{path}/edit", data=call.json)
        return Call(call.method, path, data=call.json if call.method == "POST" else None)
    return page


def _rule_page(suffix: str = "", method: str = "GET") -> Build:
    return lambda w, s: None if s == BRANCH else Call(
        method, f"/console/rules/{_walk_rule(w, s, 'draft')}{suffix}", data={} if method == "POST" else None)


CONSOLE_RULES: Mapping[tuple[str, str], Entry] = {
    ("GET", "/console/rules"): Entry(
        Action.RULES_READ, "subtree", lambda w, s: Call("GET", f"/console/rules?institution={PLACE[s]}&stage=admission")),
    ("GET", "/console/rules/stored"): Entry(Action.RULES_READ, None, lambda w, s: Call("GET", "/console/rules/stored")),
    ("GET", "/console/rules/<int:rule_id>"): Entry(Action.RULES_READ, "bank", _rule_page()),
    ("GET", "/console/rules/new"): Entry(Action.RULES_DRAFT, None, lambda w, s: Call("GET", "/console/rules/new")),
    ("POST", "/console/rules/new"): Entry(Action.RULES_DRAFT, None, _on_page(_rule_draft)),
    ("GET", "/console/rules/<int:rule_id>/edit"): Entry(Action.RULES_DRAFT, "bank", _rule_page("/edit")),
    ("POST", "/console/rules/<int:rule_id>/edit"): Entry(
        Action.RULES_DRAFT, "bank", _on_page(_rule_step("edit", "draft", own=True))),
    ("POST", "/console/rules/<int:rule_id>/submit"): Entry(
        Action.RULES_DRAFT, "bank", _on_page(_rule_step("submit", "draft", own=True))),
    ("POST", "/console/rules/<int:rule_id>/withdraw"): Entry(
        Action.RULES_DRAFT, "bank", _on_page(_rule_step("withdraw", "pending_approval", own=True))),
    ("POST", "/console/rules/<int:rule_id>/approve"): Entry(
        Action.RULES_APPROVE, "bank", _on_page(_rule_step("approve", "pending_approval"))),
    ("POST", "/console/rules/<int:rule_id>/reject"): Entry(
        Action.RULES_APPROVE, "bank", _on_page(_rule_step("reject", "pending_approval"))),
    ("POST", "/console/rules/<int:rule_id>/retire"): Entry(
        Action.RULES_DRAFT, "bank", _on_page(_rule_step("retire", "published"))),
    ("POST", "/console/rules/<int:rule_id>/backtest"): Entry(Action.RULES_BACKTEST, "bank", _rule_page("/backtest", "POST")),
    ("POST", "/console/rules/check"): Entry(Action.RULES_CHECK, None, lambda w, s: Call(
        "POST", "/console/rules/check", json={"stage": "admission", "expression": "age > 200"})),
    ("GET", "/console/rules/shadow"): Entry(
        Action.RULES_READ, "subtree", lambda w, s: Call("GET", f"/console/rules/shadow?institution={PLACE[s]}")),
}

ENDPOINTS = {**ENDPOINTS, **CONSOLE_SIGNIN, **CONSOLE_PLUGINS, **CONSOLE_CREDIT, **CONSOLE_DASHBOARD,
             **CONSOLE_ADMIN, **CONSOLE_RULES}


def _console(path: str) -> bool:
    return path in ("/", "/console") or path.startswith("/console/")


def _send(w: World, client: Any, call: Call, username: str | None) -> Any:
    """One call of the walk: with the caller's token, or for a console page their session cookie
    and the CSRF token."""
    headers = dict(call.headers or {})
    data = call.data
    if _console(call.path):
        client.set_cookie(SESSION_COOKIE, w.console.get(username or "", ""), path="/console")
        client.set_cookie(csrf.COOKIE, WALK_CSRF, path="/console")
        if call.method not in ("GET", "HEAD"):
            token = csrf.token_for(w.app.config["SECRET_KEY"], WALK_CSRF)
            if isinstance(data, dict):
                data = {**data, csrf.FIELD: token}
            else:
                headers[csrf.HEADER] = token
    elif username is not None:
        headers["Authorization"] = f"Bearer {w.tokens[username]}"
    return client.open(call.path, method=call.method, json=call.json, data=data, headers=headers)


def _succeeded(call: Call, status: int) -> bool:
    return status // 100 == 2 or (_console(call.path) and status in (302, 303))


def _names_action(resp: Any, action: Action) -> bool:
    if resp.is_json:
        return action.value in resp.get_json()["message"]
    return action.value in resp.get_data(as_text=True)


def _routes(app: Any) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_endpoint_has_an_entry(nongxin_app: Any) -> None:
    routes = _routes(nongxin_app)
    missing = sorted(routes - ENDPOINTS.keys())
    assert not missing, ("endpoints without an entry in tests/core/test_permissions.py ENDPOINTS (name the "
                         f"action they perform and how to call them in each scope): {missing}")
    stale = sorted(ENDPOINTS.keys() - routes)
    assert not stale, f"entries for endpoints the app no longer has: {stale}"


def test_every_action_is_walked_or_named_as_not_an_endpoint() -> None:
    """An action in the table that no endpoint performs is one the API cannot reach: name it here."""
    not_over_http = {Action.INSTITUTION_IMPORT, Action.USER_CREATE_PROVINCE_ADMIN, Action.TOKEN_ISSUE_SELF,
                     Action.INSTITUTION_MOVE, Action.BUREAU_FULL_ID,
                     Action.CUSTOMER_FULL_ID}  # TOKEN_REVOKE: the console's tokens page (part D)
    # POST /api/applications/{id}/review performs the action of the caller's task tier; the walk
    # exercises REVIEW_INVESTIGATE, tests/core/credit/test_review.py these two
    other_tiers = {Action.REVIEW_REVIEW, Action.REVIEW_APPROVE}
    walked = {e.action for e in ENDPOINTS.values() if e.action is not None}
    assert walked | not_over_http | other_tiers == set(Action)
    assert not walked & (not_over_http | other_tiers)


class Recording(Mapping[Action, frozenset[Role]]):
    """PERMISSIONS, noting each action looked up: the walk checks that a request which succeeded
    or was refused went through the check of its own action."""

    def __init__(self, table: Mapping[Action, frozenset[Role]]) -> None:
        self.table, self.seen = table, set[Action]()

    def __getitem__(self, action: Action) -> frozenset[Role]:
        self.seen.add(action)
        return self.table[action]

    def __iter__(self) -> Iterator[Action]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)


@pytest.fixture
def world(nongxin_app: Any, nongxin_demo: Any, new_customer: Callable[..., int]) -> World:
    w = World(nongxin_app, dict(nongxin_demo.tokens))
    settings = nongxin_app.extensions["nongxin"].settings
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        people = [("county." + r.value, r, "JNRCB") for r in Role if r is not Role.PROVINCE_ADMIN]
        people += [("branch." + r.value, r, "JNRCB-LX") for r in Role if r is not Role.PROVINCE_ADMIN]
        people += [(TARGETS[s], Role.REVIEWER, PLACE[s]) for s in (OWN, BRANCH, OTHER)]
        # a province admin filed at another county bank sees only that bank: the one caller who may
        # revoke tokens and still has objects out of sight
        for username, role, place in [*people, ("linyi.pa", Role.PROVINCE_ADMIN, "LYRCB")]:
            users.create_user(unit, None, username=username, display_name=username, role=role,
                              institution_code=place)
            w.tokens[username], _ = users.issue_token(unit, username, days=1, max_days=settings.token_max_days)
        unit.commit()
        for inst in institutions.subtree(unit.session, institutions.root(unit.session)):
            w.paths[inst.code], w.names[inst.code] = inst.path, inst.name
    root = w.paths["SD"]
    w.callers["province.admin"] = Principal("province.admin", Role.PROVINCE_ADMIN, 0, "SD", root)
    for username, role, place in people[:-3]:
        w.callers[username] = Principal(username, role, 0, place, w.paths[place])
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        for username in w.callers:
            user = unit.session.execute(sa.select(User).where(User.username == username)).scalar_one()
            w.console[username] = start_session(unit, user, now=utcnow())
        unit.commit()
    w.authorizations = {bank: w.authorization(bank) for bank in ("JNRCB", "LYRCB")}
    w.customers = {s: new_customer(PLACE[s]) for s in (OWN, BRANCH, OTHER)}
    return w


def _caller_bank(w: World, caller: Principal) -> str | None:
    for code in ("JNRCB", "LYRCB", "TARCB"):
        if caller.institution_path.startswith(w.paths[code]):
            return code
    return None


def _visible(w: World, caller: Principal, entry: Entry, scope: str) -> bool:
    if scope == MISSING:
        return False
    if entry.scope == "subtree":
        return w.paths[PLACE[scope]].startswith(caller.institution_path)
    if entry.scope == "bank":
        own = _caller_bank(w, caller)
        return own is None or own == BANK[scope]
    return True


def _early_refusal(app: Any, endpoint: str, role: Role) -> bool:
    actions = getattr(app.view_functions[endpoint], "permission_actions", ())
    return bool(actions) and not any(role in PERMISSIONS[a] for a in actions)


def expected(w: World, caller: Principal, entry: Entry, scope: str, endpoint: str) -> int:
    assert entry.action is not None
    allowed = caller.role in PERMISSIONS[entry.action]
    if _early_refusal(w.app, endpoint, caller.role):
        return 403
    if not _visible(w, caller, entry, scope):
        return 404
    return 200 if allowed else 403


def test_every_endpoint_answers_every_role_and_scope_as_the_table_says(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    app, client = world.app, world.app.test_client()
    recording = Recording(PERMISSIONS)
    monkeypatch.setattr(permissions, "PERMISSIONS", recording)
    endpoints = {(m, r.rule): r.endpoint for r in app.url_map.iter_rules() for m in r.methods}
    wrong: list[str] = []
    calls = 0
    for (method, rule), entry in ENDPOINTS.items():
        if entry.action is None:
            call = entry.build(world, OWN)
            if call is not None:
                resp = _send(world, client, call, None)
                calls += 1
                if not _succeeded(call, resp.status_code):
                    wrong.append(f"{method} {rule} (public): {resp.status_code}")
            continue
        scopes = SCOPES if entry.scope else (OWN,)
        for username, caller in world.callers.items():
            for scope in scopes:
                world.caller = username
                call = entry.build(world, scope)
                if call is None:
                    continue
                want = expected(world, caller, entry, scope, endpoints[(method, rule)])
                recording.seen.clear()
                resp = _send(world, client, call, username)
                calls += 1
                got = resp.status_code
                where = f"{method} {rule} as {username} ({caller.role.value}) on {scope}"
                if _succeeded(call, got) != (want == 200) or (want != 200 and got != want):
                    wrong.append(f"{where}: expected {want}, got {got} {resp.get_data(as_text=True)[:200]}")
                elif got != 404 and entry.action not in recording.seen:
                    wrong.append(f"{where}: answered {got} without checking {entry.action.value}")
                elif got == 403 and not _names_action(resp, entry.action):
                    wrong.append(f"{where}: the 403 does not name {entry.action.value}: "
                                 f"{resp.get_data(as_text=True)[:300]}")
    assert not wrong, f"{len(wrong)} of {calls} calls answered against the table:\n" + "\n".join(wrong)


# -- the table's own rendering -------------------------------------------------------------

BEGIN, END = "<!-- permissions:begin -->", "<!-- permissions:end -->"


def _between(text: str) -> str:
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip()


def test_the_docstring_shows_the_table() -> None:
    assert _between(permissions.__doc__ or "") == permissions.markdown_table(), \
        "run `python -m nongxin.core.permissions` and paste its output into the module docstring"


def test_the_readme_shows_the_table() -> None:
    readme = Path(__file__).resolve().parents[2] / "README.md"
    assert _between(readme.read_text(encoding="utf-8")) == permissions.markdown_table(), \
        "run `python -m nongxin.core.permissions` and paste its output into README.md's permission section"


def test_every_action_has_a_row_and_every_row_some_role() -> None:
    assert set(PERMISSIONS) == set(Action)
    assert all(PERMISSIONS[a] for a in Action)


def test_a_refusal_names_the_action_and_the_roles_that_may() -> None:
    cm = Principal("cm", Role.CUSTOMER_MANAGER, 1, "X", "/1/")
    with pytest.raises(permissions.Forbidden) as refused:
        permissions.require(cm, Action.AUDIT_VERIFY)
    assert str(refused.value) == ("role customer_manager may not verify the audit chain (audit.verify); "
                                  "needs one of: province_admin")
    permissions.require(cm, Action.BUREAU_QUERY)


def test_the_walks_places_are_a_bank_its_branch_and_another_bank() -> None:
    """The walk's places are what the demo says they are (a county bank, its branch, another bank)."""
    from nongxin.core.demo import TREE

    levels = {code: level for code, _, level, _ in TREE}
    assert (levels["JNRCB"], levels["JNRCB-LX"], levels["LYRCB"]) == (Level.COUNTY, Level.BRANCH, Level.COUNTY)


# -- the services refuse by themselves ----------------------------------------------------------
# The API refuses some actions early in the view (403 before 422), and some actions have no
# endpoint; deleting the service's own check must still fail a test. Each call acts on an object
# of the caller's own county bank, so only the role decides.

ServiceCall = Callable[[UnitOfWork, Principal, World], Any]


def _import(unit: UnitOfWork, me: Principal, w: World) -> Any:
    from nongxin.core.institutions.importer import import_csv

    return import_csv(unit, me, f"code,name,level,parent\n{w.unique('IMP-')},导入网点,branch,JNRCB\n")


def _file_customer(unit: UnitOfWork, me: Principal, w: World, grid: str) -> Any:
    from nongxin.core.customers.services import CustomerInput, create_customer

    return create_customer(unit, me, CustomerInput(**_customer_body(w, grid)))


def _import_customers(unit: UnitOfWork, me: Principal, w: World) -> Any:
    from nongxin.core.customers.importer import import_csv

    return import_csv(unit, me, _customer_file(w).getvalue().decode())


def _read_customer(unit: UnitOfWork, me: Principal, customer_id: int) -> Any:
    from nongxin.core.customers.services import visible_customer

    return visible_customer(unit, me, customer_id)


def _rotate(unit: UnitOfWork, me: Principal, w: World) -> Any:
    return users.rotate_token(unit, me, w.tokens[me.username], days=1, max_days=30)


def _list_loans(unit: UnitOfWork, me: Principal) -> Any:
    from nongxin.core.credit.loans import list_loans

    return list_loans(unit, me)

def _credit_lines() -> Any:
    from nongxin.core.credit import lines

    return lines


def _line_in(unit: UnitOfWork, w: World) -> int:
    """An active credit line of the county bank, written in the caller's own unit of work."""
    from nongxin.core.credit.models import CreditLine, CreditLineStatus
    from nongxin.core.customers.models import Customer

    customer = unit.session.get(Customer, w.customers[OWN])
    assert customer is not None
    line = CreditLine(number=w.unique("SVC-C-"), county_bank_id=customer.county_bank_id,
                      institution_id=customer.county_bank_id, customer_id=customer.id, amount=Decimal("50000.00"),
                      annual_rate=Decimal("0.05"), products=["XIN_E_DAI"], start_on=date(2026, 1, 1),
                      end_on=date(2029, 1, 1), status=CreditLineStatus.ACTIVE)
    unit.session.add(line)
    unit.flush()
    return line.id


SERVICE_CALLS: Mapping[Action, ServiceCall] = {
    Action.INSTITUTION_CREATE: lambda unit, me, w: institutions.create(
        unit, me, code=w.unique("S-"), name="新网点", level=Level.BRANCH, parent_code="JNRCB"),
    Action.INSTITUTION_IMPORT: _import,
    Action.INSTITUTION_RENAME: lambda unit, me, w: institutions.rename(unit, me, "JNRCB-ZQ", "章丘支行"),
    Action.INSTITUTION_MOVE: lambda unit, me, w: institutions.move(unit, me, "JNRCB-ZQ-G01", "JNRCB-ZQ"),
    Action.USER_CREATE: lambda unit, me, w: users.create_user(
        unit, me, username=w.unique("svc.user"), display_name="x", role=Role.REVIEWER, institution_code="JNRCB"),
    Action.USER_CREATE_PROVINCE_ADMIN: lambda unit, me, w: users.create_user(
        unit, me, username=w.unique("svc.pa"), display_name="x", role=Role.PROVINCE_ADMIN, institution_code="JNRCB"),
    Action.USER_ACTIVATE: lambda unit, me, w: users.set_active(unit, me, TARGETS[OWN], True),
    Action.TOKEN_ISSUE_OTHERS: lambda unit, me, w: users.issue_token_for(unit, me, TARGETS[OWN], days=1, max_days=30),
    Action.TOKEN_ISSUE_SELF: _rotate,
    Action.TOKEN_REVOKE: lambda unit, me, w: users.revoke_token(unit, w.tokens[TARGETS[OWN]], principal=me),
    Action.CUSTOMER_CREATE: lambda unit, me, w: _file_customer(unit, me, w, "JNRCB-ZQ-G01"),
    Action.CUSTOMER_IMPORT: lambda unit, me, w: _import_customers(unit, me, w),
    Action.LOAN_READ: lambda unit, me, w: _list_loans(unit, me),
    Action.CREDIT_LINE_READ: lambda unit, me, w: _credit_lines().list_lines(unit, me),
    Action.CREDIT_LINE_FREEZE: lambda unit, me, w: _credit_lines().freeze(unit, me, _line_in(unit, w)),
    Action.CREDIT_LINE_CLOSE: lambda unit, me, w: _credit_lines().close(unit, me, _line_in(unit, w)),
}


@pytest.mark.parametrize("action", list(SERVICE_CALLS), ids=lambda a: a.value)
def test_the_service_itself_refuses_every_role_the_table_does_not_name(
        world: World, action: Action, monkeypatch: pytest.MonkeyPatch) -> None:
    from nongxin.core.errors import NongxinError, ValidationFailed

    recording = Recording(PERMISSIONS)
    monkeypatch.setattr(permissions, "PERMISSIONS", recording)
    callers = ["province.admin", *(f"county.{r.value}" for r in Role if r is not Role.PROVINCE_ADMIN)]
    wrong = []
    for username in callers:
        with UnitOfWork(world.app.extensions["nongxin"].sessions) as unit:
            me = users.authenticate(unit.session, world.tokens[username])
            recording.seen.clear()
            try:
                SERVICE_CALLS[action](unit, me, world)
                refused: NongxinError | None = None
            except (permissions.Forbidden, ValidationFailed) as exc:
                refused = exc
            finally:
                unit.rollback()
        allowed = me.role in PERMISSIONS[action]
        if allowed == (refused is not None):
            wrong.append(f"{username}: {'refused: ' + str(refused) if refused else 'allowed'}")
        elif refused is None and action not in recording.seen:
            wrong.append(f"{username}: allowed without looking {action.value} up")
    assert not wrong, f"{action.value}, table says {sorted(r.value for r in PERMISSIONS[action])}: {wrong}"


def test_identity_numbers_in_full_only_for_credit_staff(world: World) -> None:
    from nongxin.core.bureau.services import shows_full_id
    from nongxin.core.customers.services import shows_full_id as shows_customer_id

    for username, caller in world.callers.items():
        assert shows_full_id(caller) is (caller.role in PERMISSIONS[Action.BUREAU_FULL_ID]), username
        assert shows_customer_id(caller) is (caller.role in PERMISSIONS[Action.CUSTOMER_FULL_ID]), username


# -- the services hide another county bank's objects by themselves ----------------------------
# Views look some objects up before calling the service (PATCH /api/institutions/CODE does);
# the service's own scope check must hold without them. Each call is made by a role that may,
# on an object of another county bank (LYRCB): the answer is 404, never a change.

CROSS_BANK_CALLS: Mapping[str, tuple[str, ServiceCall]] = {
    "institution.create under another bank": ("jinan.admin", lambda unit, me, w: institutions.create(
        unit, me, code=w.unique("X-"), name="越界", level=Level.BRANCH, parent_code="LYRCB")),
    "institution.rename another bank's": ("jinan.admin", lambda unit, me, w: institutions.rename(
        unit, me, "LYRCB-LS", "兰山支行")),
    "institution.move another bank's node": ("jinan.admin", lambda unit, me, w: institutions.move(
        unit, me, "LYRCB-LS-G01", "JNRCB-LX")),
    "institution.move under another bank": ("jinan.admin", lambda unit, me, w: institutions.move(
        unit, me, "JNRCB-ZQ-G01", "LYRCB-LS")),
    "user.create at another bank": ("jinan.admin", lambda unit, me, w: users.create_user(
        unit, me, username=w.unique("x.user"), display_name="x", role=Role.REVIEWER, institution_code="LYRCB")),
    "user.activate another bank's": ("jinan.admin", lambda unit, me, w: users.set_active(
        unit, me, TARGETS[OTHER], False)),
    "token.issue_others for another bank's": ("jinan.admin", lambda unit, me, w: users.issue_token_for(
        unit, me, TARGETS[OTHER], days=1, max_days=30)),
    "token.revoke another bank's": ("linyi.pa", lambda unit, me, w: users.revoke_token(
        unit, w.tokens[TARGETS[OWN]], principal=me)),
    "customer.create at another bank's grid": ("jinan.admin", lambda unit, me, w: _file_customer(
        unit, me, w, "LYRCB-LS-G01")),
    "customer.read another bank's": ("jinan.admin", lambda unit, me, w: _read_customer(
        unit, me, _customer_at(w, "LYRCB-LS-G01"))),
}



@pytest.mark.parametrize("case", list(CROSS_BANK_CALLS))
def test_the_service_itself_hides_another_banks_objects(world: World, case: str) -> None:
    from nongxin.core.errors import NotFound

    username, call = CROSS_BANK_CALLS[case]
    with UnitOfWork(world.app.extensions["nongxin"].sessions) as unit:
        me = users.authenticate(unit.session, world.tokens[username])
        with pytest.raises(NotFound):
            call(unit, me, world)
        unit.rollback()


def test_rotating_needs_the_callers_own_token(world: World) -> None:
    """The service, not only the view, refuses to rotate a token presented for someone else."""
    from nongxin.core.errors import Unauthorized

    with UnitOfWork(world.app.extensions["nongxin"].sessions) as unit:
        me = users.authenticate(unit.session, world.tokens["jinan.admin"])
        with pytest.raises(Unauthorized):
            users.rotate_token(unit, me, world.tokens[TARGETS[OWN]], days=1, max_days=30)
        unit.rollback()


def test_bureau_lists_hold_only_the_callers_county_bank(world: World) -> None:
    client = world.app.test_client()
    for username in ("county.reviewer", "branch.customer_manager", "jinan.admin"):
        headers = {"Authorization": f"Bearer {world.tokens[username]}"}
        listed = client.get("/api/bureau/authorizations", headers=headers).get_json()
        assert listed and {a["county_bank"] for a in listed} == {"JNRCB"}, username
    headers = {"Authorization": f"Bearer {world.tokens['province.admin']}"}
    listed = client.get("/api/bureau/authorizations", headers=headers).get_json()
    assert {a["county_bank"] for a in listed} == {"JNRCB", "LYRCB"}
