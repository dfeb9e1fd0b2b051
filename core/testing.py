"""pytest fixtures for the core's tests and for county developers testing their plugins.

Registered under the ``pytest11`` entry point, so ``pip install nongxin[test]`` is all a plugin
package needs. The database is SQLite unless ``NONGXIN_TEST_DATABASE_URL`` (or the
``--nongxin-db`` option) names a PostgreSQL database, which the fixtures empty before each test.
"""

from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--nongxin-db", default=None,
                     help="database URL for the Nongxin fixtures (default: a SQLite file per test; "
                          "or set NONGXIN_TEST_DATABASE_URL)")


def _database_option(config: pytest.Config) -> str | None:
    return config.getoption("--nongxin-db") or os.environ.get("NONGXIN_TEST_DATABASE_URL") or None


@pytest.fixture(scope="session")
def nongxin_database_template(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: a SQLite file to copy, or a PostgreSQL schema to truncate."""
    from nongxin.core.migrate import recreate

    url = _database_option(pytestconfig)
    if url is None:
        path = tmp_path_factory.mktemp("nongxin-template") / "template.db"
        url = f"sqlite:///{path}"
    else:
        url = _worker_database(url)
    recreate(url)
    return url


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own, ``<name>_<worker>``
    (created if missing: the role needs CREATEDB), so workers never truncate each other's rows."""
    import sqlalchemy as sa

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not url.startswith("postgresql"):
        return url
    base = sa.engine.make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": own.database}).first()
            if exists is None:
                conn.execute(sa.text(f'CREATE DATABASE "{own.database}"'))
    finally:
        admin.dispose()
    return own.render_as_string(hide_password=False)


@pytest.fixture
def nongxin_database_url(nongxin_database_template: str, tmp_path: Path) -> str:
    """A database with the full schema and no rows, private to this test."""
    import sqlalchemy as sa

    from nongxin.core.db import make_engine

    if nongxin_database_template.startswith("sqlite:///"):
        target = tmp_path / "nongxin.db"
        shutil.copyfile(nongxin_database_template.removeprefix("sqlite:///"), target)
        return f"sqlite:///{target}"
    engine = make_engine(nongxin_database_template)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
        # The append-only tables refuse TRUNCATE; the owner may lift that for a test's clean slate.
        guarded = [r[0] for r in conn.execute(sa.text(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgname LIKE '%_no_truncate'"))]
        for table in guarded:
            conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_truncate"))
        if tables:
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        for table in guarded:
            conn.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_no_truncate"))
    engine.dispose()
    return nongxin_database_template


@pytest.fixture
def nongxin_settings(nongxin_database_url: str, tmp_path: Path) -> Any:
    from nongxin.core.config import Settings

    return Settings(database_url=nongxin_database_url, environment="testing",
                    secret_key="test-secret", audit_key="nongxin-test-audit-key-0123456789abcdef",
                    data_dir=str(tmp_path / "nongxin-data"))


@pytest.fixture
def nongxin_plugins() -> list[Any]:
    """Plugin modules to register besides the installed ones; override it in a plugin's tests."""
    return []


@pytest.fixture
def nongxin_app(nongxin_settings: Any, nongxin_plugins: list[Any]) -> Iterator[Any]:
    from nongxin.core.app import create_app

    app = create_app(nongxin_settings, plugins=nongxin_plugins)
    yield app
    app.extensions["nongxin"].engine.dispose()


@pytest.fixture
def nongxin_uow(nongxin_app: Any) -> Iterator[Any]:
    """A unit of work on the test database, for arranging data and checking what was written.

    It begins its transactions deferred (as a reader), so holding it open does not lock the API or
    the CLI out of writing during the test; commit or roll back before reading what they wrote."""
    from nongxin.core.db import UnitOfWork

    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        yield unit


@dataclass
class DemoProvince:
    """The seeded demo province and a token per user, keyed by username."""

    tokens: dict[str, str]

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


@pytest.fixture
def nongxin_demo(nongxin_app: Any) -> DemoProvince:
    from nongxin.core import demo
    from nongxin.core.db import UnitOfWork

    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        seeded = demo.seed(unit)
    return DemoProvince({u.username: u.token for u in seeded})


class ApiClient:
    """The Flask test client with a user's token on every request."""

    def __init__(self, client: Any, demo: DemoProvince, username: str) -> None:
        self._client, self._demo, self.username = client, demo, username

    def as_user(self, username: str) -> "ApiClient":
        return ApiClient(self._client, self._demo, username)

    def __getattr__(self, method: str) -> Callable[..., Any]:
        call = getattr(self._client, method)

        def send(path: str, **kwargs: Any) -> Any:
            headers = {**self._demo.headers(self.username), **kwargs.pop("headers", {})}
            return call(path, headers=headers, **kwargs)

        return send


@pytest.fixture
def nongxin_enable(nongxin_app: Any, nongxin_demo: DemoProvince) -> Callable[..., Any]:
    """``nongxin_enable("my_plugin", "JNRCB", settings={...})`` switches a plugin on for a county
    bank the way a product manager would, through the API, and fails the test if refused."""
    client = nongxin_app.test_client()
    headers = nongxin_demo.headers("province.admin")

    def enable(plugin: str, institution: str = "JNRCB", settings: dict[str, Any] | None = None) -> Any:
        resp = client.post(f"/api/plugins/{plugin}/enable", json={"institution": institution}, headers=headers)
        assert resp.status_code == 200, resp.get_json()
        if settings:
            resp = client.put(f"/api/plugins/{plugin}/settings", headers=headers,
                              json={"institution": institution, "settings": settings})
            assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    return enable


@pytest.fixture
def nongxin_client(nongxin_app: Any, nongxin_demo: DemoProvince) -> ApiClient:
    """A test client acting as the Jinan product manager; ``.as_user(name)`` switches user."""
    return ApiClient(nongxin_app.test_client(), nongxin_demo, "jinan.pm")


# -- the console: a signed-in test client, without typing a password ------------------------------

class ConsoleClient:
    """The Flask test client signed in to the console as ``username`` (a session made directly, so
    no scrypt per test), adding the CSRF token to every POST: ``post(path, data={...})`` for a
    form, ``post(path, json={...})`` for a script's call."""

    CSRF_COOKIE_VALUE = "test-csrf-cookie"

    def __init__(self, app: Any, username: str) -> None:
        import sqlalchemy as sa

        from nongxin.core.console import csrf
        from nongxin.core.console.signin import start_session
        from nongxin.core.console.web import SESSION_COOKIE
        from nongxin.core.db import UnitOfWork
        from nongxin.core.institutions.models import User

        runtime = app.extensions["nongxin"]
        with UnitOfWork(runtime.sessions) as unit:
            user = unit.session.execute(sa.select(User).where(User.username == username)).scalar_one()
            cookie = start_session(unit, user, now=runtime.clock.now())
            unit.commit()
        self.app, self.username = app, username
        self.client = app.test_client()
        self.client.set_cookie(SESSION_COOKIE, cookie, path="/console")
        self.client.set_cookie(csrf.COOKIE, self.CSRF_COOKIE_VALUE, path="/console")
        self.csrf = csrf.token_for(app.config["SECRET_KEY"], self.CSRF_COOKIE_VALUE)
        self._field, self._header = csrf.FIELD, csrf.HEADER

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, *, data: dict[str, Any] | None = None, json: Any = None, **kwargs: Any) -> Any:
        if json is not None:
            headers = {self._header: self.csrf, **kwargs.pop("headers", {})}
            return self.client.post(path, json=json, headers=headers, **kwargs)
        return self.client.post(path, data={**(data or {}), self._field: self.csrf}, **kwargs)


@pytest.fixture
def nongxin_console(nongxin_app: Any, nongxin_demo: DemoProvince) -> Callable[[str], ConsoleClient]:
    """``nongxin_console("jinan.pm")``: a test client signed in to the console as that demo user."""
    return lambda username: ConsoleClient(nongxin_app, username)


# -- unified credit: a customer and an application through the ORM (until their APIs exist) ----

def file_application(app: Any, *, place: str = "JNRCB-LX", id_number: str, name: str = "张三",
                     product: str = "XIN_E_DAI", amount: str = "30000", term_months: int = 12,
                     form: dict[str, Any] | None = None, guarantors: tuple[tuple[str, str], ...] = (),
                     consent: tuple[str, ...] = ("02",), guarantor_consent: bool = True,
                     annual_income: str | None = "120000", segment: str | None = "salaried",
                     status: str = "submitted", filed_by: str = "jinan.cm") -> int:
    """A customer (individual, at ``place``'s county bank), its guarantors, their bureau consents
    (``consent`` purposes for the applicant, 08 for guarantors) and a submitted application; the
    application's id. Written through the ORM, as a test arranges data."""
    from datetime import timedelta
    from decimal import Decimal

    import sqlalchemy as sa

    from nongxin.core.auth import Principal
    from nongxin.core.bureau.services import SubjectInput, record_authorization
    from nongxin.core.credit.models import Application, ApplicationStatus, Channel
    from nongxin.core.customers.models import Customer, CustomerKind
    from nongxin.core.db import UnitOfWork, utcnow
    from nongxin.core.institutions import services as institutions
    from nongxin.core.institutions.models import Role, User
    from nongxin.sdk.identity import birth_date

    rt = app.extensions["nongxin"]
    with UnitOfWork(rt.sessions) as unit:
        session = unit.session
        inst = institutions.get_by_code(session, place)
        bank = institutions.county_bank_of(session, inst) if inst is not None else None
        assert inst is not None and bank is not None, f"{place} is not inside a county bank"
        user = session.execute(sa.select(User).where(User.username == filed_by)).scalar_one()
        clerk = Principal(f"clerk.{bank.code.lower()}", Role.REVIEWER, bank.id, bank.code, bank.path)

        def customer(number: str, who: str, purposes: tuple[str, ...]) -> Customer:
            row = session.execute(sa.select(Customer).where(Customer.county_bank_id == bank.id,
                                                            Customer.id_number == number)).scalar_one_or_none()
            if row is None:
                row = Customer(county_bank_id=bank.id, grid_id=inst.id, manager_id=user.id,
                               kind=CustomerKind.INDIVIDUAL, id_number=number, name=who,
                               birth_date=birth_date(number), segment=segment,
                               annual_income=None if annual_income is None else Decimal(annual_income),
                               created_by="test")
                session.add(row)
                session.flush()
            if purposes:
                record_authorization(unit, clerk, rt.settings, subject=SubjectInput("resident_id", number, who),
                                     purposes=list(purposes), channel="paper", evidence_ref="archive://test.pdf",
                                     evidence_sha256="ab" * 32, granted_at=utcnow() - timedelta(days=1))
            return row

        applicant = customer(id_number, name, consent)
        backers = [customer(n, w, ("08",) if guarantor_consent else ()) for n, w in guarantors]
        count = session.execute(sa.select(sa.func.count()).select_from(Application)).scalar_one()
        row = Application(number=f"{bank.code}-A2026-{count + 1:06d}", county_bank_id=bank.id,
                          institution_id=inst.id, customer_id=applicant.id, product_code=product,
                          amount=Decimal(amount), term_months=term_months, repayment_method="equal_installment",
                          purpose="经营周转", form=dict(form or {}), guarantor_ids=[b.id for b in backers],
                          channel=Channel.COUNTER, status=ApplicationStatus(status), filed_by_id=user.id)
        session.add(row)
        unit.commit()
        return row.id


@pytest.fixture
def nongxin_application(nongxin_app: Any, nongxin_demo: DemoProvince) -> Callable[..., int]:
    """``nongxin_application(id_number=..., form={...})``: see :func:`file_application`."""
    return lambda **kwargs: file_application(nongxin_app, **kwargs)


# -- manual review (part E): an application already in manual review, made through the ORM -------

def manual_review_application(app: Any, *, place: str = "JNRCB-LX", filed_by: str = "jinan.cm",
                              amount: Any = None, product: str = "XIN_E_DAI", today: Any = None) -> int:
    """File an application at ``place`` by ``filed_by`` straight into ``manual_review`` with its
    investigation task open (``review.start``), as the decision does; returns its id. For tests of
    the review steps, which need no filing or decision pipeline."""
    from datetime import date, timedelta
    from decimal import Decimal

    import sqlalchemy as sa

    from nongxin.core.credit.models import Application, ApplicationStatus, Channel
    from nongxin.core.credit.review import start
    from nongxin.core.customers.models import Customer, CustomerKind
    from nongxin.core.db import UnitOfWork
    from nongxin.core.institutions import services as institutions
    from nongxin.core.institutions.models import User
    from nongxin.sdk.identity import make_resident_id

    runtime = app.extensions["nongxin"]
    day = today or runtime.clock.business_date()
    with UnitOfWork(runtime.sessions) as unit:
        session = unit.session
        where = institutions.get_by_code(session, place)
        assert where is not None, place
        bank = institutions.county_bank_of(session, where)
        assert bank is not None, place
        filer = session.execute(sa.select(User).where(User.username == filed_by)).scalar_one()
        seq = next(_REVIEW_SEQ)
        customer = Customer(county_bank_id=bank.id, grid_id=where.id, manager_id=filer.id,
                            kind=CustomerKind.INDIVIDUAL,
                            id_number=make_resident_id("370102", date(1980, 1, 1) + timedelta(days=seq % 3000),
                                                       (2 * seq + 1) % 1000),
                            name=f"测试客户{seq}", birth_date=None, sex=None, segment="salaried", created_by=filed_by)
        session.add(customer)
        session.flush()
        application = Application(number=f"{bank.code}-T{seq:06d}-{customer.id}", county_bank_id=bank.id,
                                  institution_id=where.id, customer_id=customer.id, product_code=product,
                                  amount=Decimal(amount if amount is not None else "80000"), term_months=12,
                                  repayment_method="equal_installment", channel=Channel.COUNTER,
                                  status=ApplicationStatus.MANUAL_REVIEW, filed_by_id=filer.id)
        session.add(application)
        session.flush()
        start(unit, runtime.calendar, application, bank, day)
        unit.commit()
        return application.id


_REVIEW_SEQ = itertools.count(1)


# -- the ledger (issue 11): a loan on the books, made through the ledger's own primitive ----------

def open_test_loan(app: Any, *, place: str = "JNRCB-LX", amount: str = "12000.00", annual_rate: str = "0.0435",
                   term_months: int = 12, method: str = "equal_installment", start_on: Any = None,
                   product: str = "XIN_E_DAI", penalty_markup: str = "0.5", manager: str = "jinan.cm",
                   id_number: str | None = None, name: str = "李借款") -> str:
    """A loan disbursed on ``start_on`` (default 2026-01-15) at ``place``'s county bank to an
    individual customer (filed if new), with schedule version 1, through ``ledger.open_loan``
    (no credit line); returns its loan number."""
    from datetime import date
    from decimal import Decimal

    from nongxin.core.credit.ledger import Borrower, LoanTerms, open_loan
    from nongxin.core.db import UnitOfWork
    from nongxin.sdk.identity import make_resident_id

    day = start_on or date(2026, 1, 15)
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        inst, bank, user, customer = _borrower(
            unit.session, place, manager, name,
            id_number or make_resident_id("370102", date(1980, 1, 1), next(_loan_seq) % 999 + 1))
        loan = open_loan(unit, bank=bank, institution=inst, borrower=Borrower.of(customer), actor="test",
                         manager_id=user.id,
                         terms=LoanTerms(product_code=product, amount=Decimal(amount), annual_rate=Decimal(annual_rate),
                                         term_months=term_months, repayment_method=method, start_on=day,
                                         penalty_markup=Decimal(penalty_markup)))
        unit.commit()
        return loan.loan_no


_loan_seq = itertools.count()


# -- drawdowns (issue 11 part C): a credit line through the ORM, until the credit line API grants one

def open_test_line(app: Any, *, place: str = "JNRCB-LX", amount: str = "100000.00", products: Any = ("XIN_E_DAI",),
                   annual_rate: str = "0.0435", start_on: Any = None, end_on: Any = None, revolving: bool = True,
                   status: str = "active", manager: str = "jinan.cm", id_number: str | None = None,
                   name: str = "王用信") -> int:
    """An ``active`` credit line at ``place`` for an individual customer (filed if new, managed by
    ``manager``), running from a year before the business date (``start_on``) to three years after
    it (``end_on``); returns its id. Written through the ORM, as a test arranges data."""
    from datetime import date, timedelta
    from decimal import Decimal

    from nongxin.core.credit.applications import next_number
    from nongxin.core.credit.models import CreditLine, CreditLineStatus
    from nongxin.core.db import UnitOfWork
    from nongxin.sdk.identity import make_resident_id

    runtime = app.extensions["nongxin"]
    today = runtime.clock.business_date()
    with UnitOfWork(runtime.sessions) as unit:
        session = unit.session
        inst, bank, user, customer = _borrower(
            session, place, manager, name,
            id_number or make_resident_id("370102", date(1975, 6, 1), next(_line_seq) % 999 + 1))
        line = CreditLine(number=next_number(unit, bank, today.year, "C"), county_bank_id=bank.id,
                          institution_id=inst.id, customer_id=customer.id, amount=Decimal(amount),
                          annual_rate=Decimal(annual_rate), products=list(products),
                          start_on=start_on or today - timedelta(days=365),
                          end_on=end_on or today + timedelta(days=3 * 365), revolving=revolving,
                          status=CreditLineStatus(status))
        session.add(line)
        unit.commit()
        return line.id


_line_seq = itertools.count()


def _borrower(session: Any, place: str, manager: str, name: str, number: str) -> tuple[Any, Any, Any, Any]:
    """``place``, its county bank, the user ``manager`` and the individual customer ``number`` of that
    bank (filed at ``place`` if new): what the ledger helpers above lend to."""
    import sqlalchemy as sa

    from nongxin.core.customers.models import Customer, CustomerKind
    from nongxin.core.institutions import services as institutions
    from nongxin.core.institutions.models import User
    from nongxin.sdk.identity import birth_date

    inst = institutions.get_by_code(session, place)
    bank = institutions.county_bank_of(session, inst) if inst is not None else None
    assert inst is not None and bank is not None, f"{place} is not inside a county bank"
    user = session.execute(sa.select(User).where(User.username == manager)).scalar_one()
    customer = session.execute(sa.select(Customer).where(Customer.county_bank_id == bank.id,
                                                         Customer.id_number == number)).scalar_one_or_none()
    if customer is None:
        customer = Customer(county_bank_id=bank.id, grid_id=inst.id, manager_id=user.id, kind=CustomerKind.INDIVIDUAL,
                            id_number=number, name=name, birth_date=birth_date(number), segment="salaried",
                            created_by="test")
        session.add(customer)
        session.flush()
    return inst, bank, user, customer


# -- collateral (issue 12): an item with one valuation, pledged to a line, through the ORM ------------

#: Valid fields for each kind, for tests that need an item and do not care which.
SAMPLE_COLLATERAL_FIELDS: dict[str, dict[str, str]] = {
    "real_estate": {"certificate_no": "鲁(2024)济南市不动产权第{n:07d}号", "address": "历城区港沟街道{n}号"},
    "vehicle": {"vin": "LSVAM418C2{n:06d}", "plate": "鲁A{n:05d}"},
    "deposit": {"account": "62284800{n:08d}", "bank": "济南农商银行历下支行", "balance": "200000.00"},
    "land_rights": {"certificate_no": "LQ3701{n:08d}", "address": "章丘区官庄街道", "area_mu": "30"},
    "forest_rights": {"certificate_no": "LZ3701{n:08d}", "address": "莱芜区雪野街道", "area_mu": "120"},
    "warehouse_receipt": {"receipt_no": "CD{n:08d}", "warehouse": "济南粮食储备库", "goods": "小麦",
                          "quantity": "200吨"},
    "guarantee_company": {"contract_no": "BZ{n:08d}", "guarantor": "山东省农业发展信贷担保有限责任公司",
                          "guarantor_uscc": "91370000MA3C9QXK1P", "amount": "500000.00"},
    "guarantee_person": {"contract_no": "GR{n:08d}", "amount": "100000.00"},
}


def open_test_item(app: Any, *, place: str = "JNRCB-LX", kind: str = "real_estate", value: str = "500000.00",
                   valued_on: Any = None, valid_until: Any = None, data: dict[str, str] | None = None,
                   owner_id_number: str | None = None, owner_name: str = "赵抵押", manager: str = "jinan.cm",
                   line_id: int | None = None, rank: int = 1, registration: str | None = None) -> int:
    """A collateral item of ``kind`` registered at ``place`` for an individual owner (filed if new),
    valued at ``value`` on ``valued_on`` (default: the business date; valid a year unless
    ``valid_until``), and pledged to ``line_id`` at ``rank`` when given (``registration``: default
    ``registered`` for kinds that register, else ``not_required``); returns the item's id.
    Written through the ORM, as a test arranges data: no check of the services is relied on."""
    from datetime import date, timedelta
    from decimal import Decimal

    from nongxin.core.collateral.models import (
        CollateralItem,
        CollateralValuation,
        Pledge,
        PledgeStatus,
        Registration,
    )
    from nongxin.core.credit.applications import next_number
    from nongxin.core.db import UnitOfWork
    from nongxin.sdk.collateral import check_fields, kind_spec, make_vin
    from nongxin.sdk.identity import make_resident_id

    runtime = app.extensions["nongxin"]
    today = runtime.clock.business_date()
    n = next(_item_seq)
    fields = data if data is not None else {k: v.format(n=n) for k, v in SAMPLE_COLLATERAL_FIELDS[kind].items()}
    if data is None and kind == "vehicle":
        fields["vin"] = make_vin(fields["vin"])
    clean, problems = check_fields(kind, fields)
    assert not problems, problems
    spec = kind_spec(kind)
    with UnitOfWork(runtime.sessions) as unit:
        session = unit.session
        inst, bank, _user, owner = _borrower(
            session, place, manager, owner_name,
            owner_id_number or make_resident_id("370102", date(1970, 3, 1), n % 999 + 1))
        identifier = clean[spec.key]
        item = CollateralItem(number=next_number(unit, bank, today.year, "K", CollateralItem.number),
                              county_bank_id=bank.id, institution_id=inst.id, owner_id=owner.id, kind=kind,
                              identifier=identifier, description=f"test {kind}", declared_value=Decimal(value),
                              data=clean, registered_by="test")
        session.add(item)
        session.flush()
        day = valued_on or today
        session.add(CollateralValuation(item_id=item.id, value=Decimal(value),
                                        method=spec.methods[0], valuer_kind="internal", valuer="test",
                                        valued_on=day, valid_until=valid_until or day + timedelta(days=365),
                                        recorded_by="test"))
        if line_id is not None:
            state = registration or ("registered" if spec.registrable else "not_required")
            session.add(Pledge(item_id=item.id, credit_line_id=line_id, rank=rank, status=PledgeStatus.PLEDGED,
                               registration=Registration(state),
                               registration_no="鲁(2024)济南市不动产证明第0000001号" if state == "registered" else None,
                               registered_on=today if state == "registered" else None, pledged_on=today,
                               pledged_by="test"))
        unit.commit()
        return item.id


_item_seq = itertools.count(1)


# -- early warning (issue 13): a loan's arrears as the day close would leave them ------------------

def make_overdue(app: Any, loan_no: str, *, days: int, principal: str = "1000.00", interest: str = "40.00",
                 restructured_on: Any = None) -> None:
    """Set ``loan_no``'s arrears on the live ledger: ``days`` overdue (0 clears them) with the given
    overdue principal and interest, as the day close would have left them after that many days.
    Written through the ORM, as a test arranges data; the scan and the classification then read
    the loan as any other."""
    from datetime import timedelta
    from decimal import Decimal

    import sqlalchemy as sa

    from nongxin.core.credit.models import Loan
    from nongxin.core.db import UnitOfWork

    runtime = app.extensions["nongxin"]
    today = runtime.clock.business_date()
    with UnitOfWork(runtime.sessions) as unit:
        loan = unit.session.execute(sa.select(Loan).where(Loan.loan_no == loan_no)).scalar_one()
        loan.overdue_days = days
        loan.overdue_since = today - timedelta(days=days - 1) if days else None
        loan.overdue_principal = Decimal(principal) if days else Decimal("0")
        loan.overdue_interest = Decimal(interest) if days else Decimal("0")
        if restructured_on is not None:
            loan.restructured_on = restructured_on
        unit.commit()


# -- early warning (issue 13 part B): an open warning and its task, as the scan would leave them ---

def open_test_warning(app: Any, loan_no: str, *, rule_code: str = "PROV-PL-003", colour: str = "yellow",
                      first_seen: Any = None, due_on: Any = None, assigned_to: str | None = "jinan.cm",
                      rule_version: int = 1, reason: str = "test warning", escalation_level: int = 0,
                      ) -> tuple[int, int]:
    """An open post-loan warning on ``loan_no`` (first and last seen ``first_seen``, default the
    business date), its open task (opened that day, due ``due_on``, default ten days later) for
    ``assigned_to`` and the task's "opened" event; returns (warning id, task id). Written through
    the ORM, as a test arranges data (the nightly scan writes them in production)."""
    from datetime import timedelta

    import sqlalchemy as sa

    from nongxin.core.credit.models import Loan
    from nongxin.core.db import UnitOfWork
    from nongxin.core.early_warning.models import TaskEvent, Warning, WarningTask
    from nongxin.core.institutions.models import User

    runtime = app.extensions["nongxin"]
    day = first_seen or runtime.clock.business_date()
    with UnitOfWork(runtime.sessions) as unit:
        s = unit.session
        loan = s.execute(sa.select(Loan).where(Loan.loan_no == loan_no)).scalar_one()
        user = s.execute(sa.select(User.id).where(User.username == assigned_to)).scalar_one() if assigned_to else None
        warning = Warning(county_bank_id=loan.county_bank_id, institution_id=loan.institution_id, subject_kind="loan",
                          subject_id=loan.id, loan_id=loan.id, loan_no=loan.loan_no, stage="post_loan",
                          rule_code=rule_code, rule_version=rule_version, colour=colour, reason=reason,
                          facts={"overdue_days": loan.overdue_days}, first_seen=day, last_seen=day)
        s.add(warning)
        s.flush()
        task = WarningTask(warning_id=warning.id, county_bank_id=loan.county_bank_id,
                           institution_id=loan.institution_id, colour=colour, assigned_to=user, opened_on=day,
                           due_on=due_on or day + timedelta(days=10), escalation_level=escalation_level)
        s.add(task)
        s.flush()
        s.add(TaskEvent(task_id=task.id, kind="opened", business_date=day, actor="test", to_user=user))
        unit.commit()
        return warning.id, task.id


# -- rules kept by staff (issue 14): a published stored rule or monitoring model, as the services leave them

def publish_test_rule(app: Any, code: str, expression: str, *, stage: str = "post_loan", outcome: str = "yellow",
                      owner: str = "JNRCB", shadow: bool = False, model_id: int | None = None,
                      version: int | None = None, name: str | None = None, reason: str = "test rule",
                      category: str = "", effective_from: Any = None, effective_to: Any = None,
                      author: str = "test.maker", approver: str = "test.checker") -> int:
    """A published stored rule (its level the owner's), written through the ORM as a test arranges
    data, and the plugin generation bumped so the next request reads it; returns its id. ``version``
    defaults to one above the owner's highest stored version of ``code``."""
    import sqlalchemy as sa

    from nongxin.core.db import UnitOfWork, utcnow
    from nongxin.core.institutions.models import Institution
    from nongxin.core.plugin_state.services import bump_generation
    from nongxin.core.rules.models import RuleStatus, StoredRule

    runtime = app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        s = unit.session
        place = s.execute(sa.select(Institution).where(Institution.code == owner)).scalar_one()
        if version is None:
            top = s.execute(sa.select(sa.func.max(StoredRule.version)).where(
                StoredRule.owner_id == place.id, StoredRule.code == code)).scalar()
            version = (top or 0) + 1
        now = utcnow()
        row = StoredRule(code=code, version=version, name=name or code, stage=stage, outcome=outcome,
                         level=place.level.value, owner_id=place.id, expression=expression, reason=reason,
                         category=category, effective_from=effective_from, effective_to=effective_to, shadow=shadow,
                         model_id=model_id, status=RuleStatus.PUBLISHED, author=author, created_at=now,
                         submitted_at=now, decided_by=approver, decided_at=now)
        s.add(row)
        s.flush()
        bump_generation(s)
        unit.commit()
        return row.id


def make_test_model(app: Any, code: str, *, stage: str = "post_loan", owner: str = "JNRCB",
                    name: str | None = None, created_by: str = "test.maker") -> int:
    """An active monitoring model (no conditions yet: add them with ``publish_test_rule(model_id=)``)."""
    import sqlalchemy as sa

    from nongxin.core.db import UnitOfWork
    from nongxin.core.institutions.models import Institution
    from nongxin.core.rules.models import MonitoringModel

    runtime = app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        s = unit.session
        place = s.execute(sa.select(Institution.id).where(Institution.code == owner)).scalar_one()
        model = MonitoringModel(code=code, name=name or code, stage=stage, owner_id=place, created_by=created_by)
        s.add(model)
        s.flush()
        unit.commit()
        return model.id


# -- whole-village credit (issue 15): a village with households, written through the ORM -----------

@dataclass(frozen=True)
class TestVillage:
    """What ``make_test_village`` filed: the village, and per household its id and its head's
    customer id, in order."""

    village_id: int
    name: str
    households: tuple[int, ...]
    heads: tuple[int, ...]
    members: tuple[int, ...]  # every member's customer id (heads included)


_village_seq = itertools.count(1)


def make_test_village(app: Any, *, name: str | None = None, grid: str = "LYRCB-LS-G01", manager: str = "linyi.cm",
                      households: int = 5, colours: Any = None, spouses: bool = False, segment: str = "farmer",
                      area: str = "371302", clean_bureau: bool = False) -> TestVillage:
    """A village of ``households`` households on ``grid``, each a head (and a spouse with
    ``spouses``), filed through ``customers.services.create_customer``; the roster figures (land,
    assets, main business, income) vary by household. ``colours``: the peer review colour that
    stands per household (a sequence, or None for never reviewed). Resident IDs are built to draw
    the simulated bureau's profiles; with ``clean_bureau`` every one carries the simulator's "always
    clean" marker (998) instead, for a test whose answer must not depend on which profile an
    identity number happens to draw (which depends on the villages made before). Committed; the ids
    are returned."""
    from datetime import date, timedelta
    from decimal import Decimal

    from nongxin.core.customers.models import Household
    from nongxin.core.customers.services import CustomerInput, HouseholdInput, create_customer
    from nongxin.core.db import UnitOfWork
    from nongxin.core.institutions import users
    from nongxin.core.institutions.services import county_bank_of, get_by_code
    from nongxin.core.village.models import Village
    from nongxin.sdk.identity import make_resident_id

    runtime = app.extensions["nongxin"]
    n = next(_village_seq)
    name = name or f"测试{n}村"
    households_, heads, members = [], [], []
    with UnitOfWork(runtime.sessions) as unit:
        session = unit.session
        principal = users.principal_named(session, manager)
        grid_inst = get_by_code(session, grid)
        assert grid_inst is not None, grid
        bank = county_bank_of(session, grid_inst)
        assert bank is not None
        village = Village(county_bank_id=bank.id, grid_id=grid_inst.id, name=name)
        session.add(village)
        session.flush()
        for i in range(households):
            number = f"{i + 1:04d}"
            # Ages 37 to 48 whatever the village's number (so answers never depend on which tests
            # ran before, or on which xdist worker): the village's number only keeps identities apart.
            born = date(1978 + (5 * i) % 11, 1 + n % 12, 1 + i % 28)
            seq = 100 + (2 * i + 50 * n) % 800
            people = [("head", f"户主{n}-{i + 1}", seq + 1)]
            if spouses:
                people.append(("spouse", f"配偶{n}-{i + 1}", seq))
            for k, (relation, person, seq) in enumerate(people):
                id_number = make_resident_id(area, born, seq % 1000)
                if clean_bureau:  # born 1978-1988 (ages 37-48) spread out: the date keeps identities apart
                    id_number = make_resident_id(area, date(1978, 1, 1) + timedelta(days=(389 * n + 17 * (2 * i + k)) % 4015),
                                                 998)
                customer = create_customer(unit, principal, CustomerInput(
                    kind="individual", id_number=id_number, name=person, grid=grid,
                    manager=manager, segment=segment, annual_income=f"{30000 + 7000 * (i % 9)}.00",
                    household=HouseholdInput(name, f"{1 + i % 3}组", number, relation)))
                members.append(customer.id)
                if relation == "head":
                    heads.append(customer.id)
            household = session.get(Household, customer.household_id)
            assert household is not None
            household.village_id = village.id
            household.land_mu = Decimal(5 + (i * 3) % 20) + Decimal("0.5") * (i % 2)
            household.assets = Decimal(50000 + 25000 * (i % 8))
            household.main_business = ("粮食种植", "花生种植", "生猪养殖", "蔬菜大棚")[i % 4]
            if colours is not None and colours[i] is not None:
                household.peer_review = colours[i]
                household.peer_review_on = runtime.clock.business_date()
            households_.append(household.id)
        unit.commit()
        return TestVillage(village.id, name, tuple(households_), tuple(heads), tuple(members))
