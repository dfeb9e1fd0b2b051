"""Who may do what: every action the services perform, and the roles that may perform it.

The promise: one table decides every role check. Services call ``require(principal, Action.X)``
(the API, the CLI and the console all go through the services); a view may refuse early, before
its body is validated, with ``guards.permission_required(Action.X)``, which reads the same table.
Scope is a separate check that stays with the objects: ``institutions.visible`` and
``Principal.require_visible`` answer 404 for another county bank's objects, and the services
call them before the role check, so a caller never learns that another bank's object exists.

The table (``tests/core/test_permissions.py`` checks that this docstring, the README and
``PERMISSIONS`` agree; ``python -m nongxin.core.permissions`` prints it):

<!-- permissions:begin -->
| action | what | PA | CA | PM | PR | CM | RV | AP | PL |
|---|---|---|---|---|---|---|---|---|---|
| `institution.read` | see institutions of one's subtree | x | x | x | x | x | x | x | x |
| `institution.create` | create institutions | x | x | | | | | | |
| `institution.import` | import an institution tree | x | x | | | | | | |
| `institution.rename` | rename institutions | x | x | | | | | | |
| `institution.move` | move institutions | x | x | | | | | | |
| `user.read` | list users | x | x | | | | | | |
| `user.create` | create users | x | x | | | | | | |
| `user.create_province_admin` | create province admins | x | | | | | | | |
| `user.activate` | activate or deactivate users | x | x | | | | | | |
| `token.issue_self` | replace one's own API token | x | x | x | x | x | x | x | x |
| `token.issue_others` | issue tokens for other users | x | x | | | | | | |
| `token.revoke` | revoke API tokens | x | | | | | | | |
| `plugin.list` | list plugins and their state | x | x | x | x | x | x | x | x |
| `plugin.switch` | switch plugins | x | x | x | | | | | |
| `plugin.settings.read` | read plugin settings | x | x | x | | | | | |
| `plugin.settings.change` | change plugin settings | x | x | x | | | | | |
| `plugin.breaker.reset` | reset circuit breakers | x | x | x | | | | | |
| `audit.read` | read the audit trail | x | x | | | | | | |
| `audit.verify` | verify the audit chain | x | | | | | | | |
| `bureau.authorize` | record credit-bureau authorizations | | | | | x | x | x | x |
| `bureau.authorization.read` | read credit-bureau authorizations | x | x | | | x | x | x | x |
| `bureau.authorization.revoke` | revoke credit-bureau authorizations | | x | | | x | x | x | x |
| `bureau.query` | query the credit bureau | | | | | x | x | x | x |
| `bureau.log.read` | read the credit-bureau query log | x | x | | | x | x | x | x |
| `bureau.log.count` | count credit-bureau queries | x | x | | | x | x | x | x |
| `bureau.full_id` | see identity numbers in full | | | | | x | x | x | x |
| `rules.read` | read the rules in force | x | x | x | x | x | x | x | x |
| `rules.check` | check a rule expression | x | x | x | x | x | x | x | x |
| `product.list` | list the products offered | x | x | x | x | x | x | x | x |
| `product.try` | try a product's decision on a sample applicant; nothing is stored | x | x | x | x | | | | |
| `calendar.read` | read the working-day calendar | x | x | x | x | x | x | x | x |
| `calendar.change` | change the working-day calendar | x | | | | | | | |
| `parameter.read` | read parameters (LPR, time limits, caps) | x | x | x | x | x | x | x | x |
| `parameter.change` | change parameters | x | x | | x | | | | |
| `customer.read` | see customer files | x | x | | | x | x | x | x |
| `customer.create` | file and update customers | | x | | | x | | | |
| `customer.import` | import customer files | | x | | | x | | | |
| `customer.full_id` | see customers' identity numbers in full | | | | | x | x | x | x |
| `application.file` | file loan applications | | | | | x | | | |
| `application.read` | see loan applications | x | x | | | x | x | x | x |
| `application.decide` | run the automated decision | | | | | x | | | |
| `application.withdraw` | withdraw loan applications | | x | | | x | | | |
| `decision.read` | read a decision and why it was so | x | x | | x | x | x | x | x |
| `decision.replay` | replay a decision | x | x | | x | | x | x | |
| `review.investigate` | give the investigation opinion | | | | | x | | | |
| `review.review` | give the central review opinion | | | | | | x | | |
| `review.approve` | approve or reject after review | | | | | | | x | |
| `review.overdue` | list overdue review steps | x | x | | | | | | |
| `credit_line.read` | see credit lines | x | x | | | x | x | x | x |
| `credit_line.freeze` | freeze and unfreeze credit lines | | x | | | | | x | x |
| `credit_line.close` | close credit lines | | x | | | | | x | |
| `loan.draw` | draw loans under credit lines | | | | | x | | | |
| `loan.read` | see loans, schedules and transactions | x | x | | | x | x | x | x |
| `loan.repay` | take repayments | | x | | | x | | | |
| `collateral.read` | see collateral, valuations and pledges | x | x | | | x | x | x | x |
| `collateral.register` | register collateral items | | x | | | x | | | |
| `collateral.value` | value collateral | | x | | | x | | | x |
| `collateral.pledge` | pledge collateral and record its registration | | x | | | x | | | |
| `collateral.release` | release collateral from credit lines | | x | | | | | x | |
| `warning.read` | see warnings, their tasks and counts | x | x | | | x | x | x | x |
| `warning.task.close` | close warning tasks with findings | | | | | x | | | x |
| `warning.task.reassign` | reassign warning tasks | | x | | | | | x | x |
| `watchlist.import` | load court lists (enforcement, restrictions) | x | x | | | | | | |
| `classification.read` | see five-tier classes and NPL ratios | x | x | | | x | x | x | x |
| `classification.propose` | set a loan's class by judgment | | x | | | | | x | x |
| `classification.approve` | approve a class better than the floor | | x | | | | | x | |
| `rules.draft` | draft, submit and retire rules and monitoring models | x | x | | x | | | | |
| `rules.approve` | approve or reject a colleague's rules | x | x | | x | | | | |
| `rules.backtest` | backtest rules over the ledger or past decisions | x | x | x | x | | | | |
| `monitoring.read` | see the suspicious records of monitoring models | x | x | | x | x | x | x | x |
| `village.read` | see villages, rosters, peer reviews, offers and ratings | x | x | x | | x | x | x | x |
| `village.import` | import village rosters | | x | | | x | | | |
| `village.review` | open peer review rounds and enter ratings | | x | | | x | | | |
| `village.review.close` | close (accept) peer review rounds | | x | | | | | x | |
| `village.precredit` | run batch pre-credit | | x | | | | | x | |
| `village.offer` | accept or decline pre-credit offers | | | | | x | | | |
| `village.rate` | rate credit villages | | x | | | | | x | |
| `line.review` | run the annual review of credit lines | | x | | | | | | x |
| `scorecard.read` | see scorecards in use, their stability, model warnings and challengers | x | x | x | x | | | | |
| `scorecard.monitor` | run the scorecard stability monitor and close model warnings | x | x | | x | | | | |
<!-- permissions:end -->

Roles: PA province_admin, CA county_admin, PM product_manager, PR parameter_admin,
CM customer_manager, RV reviewer, AP approver, PL post_loan_checker.
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import Mapping

from nongxin.core.auth import Principal
from nongxin.core.errors import Forbidden
from nongxin.core.institutions.models import Role


class Action(str, enum.Enum):
    """Every action a service performs; the value is the name shown in errors and the README."""

    def __new__(cls, value: str, doing: str) -> "Action":
        member = str.__new__(cls, value)
        member._value_ = value
        member.doing = doing
        return member

    doing: str  # what the action does, in words: "create users"

    INSTITUTION_READ = ("institution.read", "see institutions of one's subtree")
    INSTITUTION_CREATE = ("institution.create", "create institutions")
    INSTITUTION_IMPORT = ("institution.import", "import an institution tree")
    INSTITUTION_RENAME = ("institution.rename", "rename institutions")
    INSTITUTION_MOVE = ("institution.move", "move institutions")
    USER_READ = ("user.read", "list users")
    USER_CREATE = ("user.create", "create users")
    USER_CREATE_PROVINCE_ADMIN = ("user.create_province_admin", "create province admins")
    USER_ACTIVATE = ("user.activate", "activate or deactivate users")
    TOKEN_ISSUE_SELF = ("token.issue_self", "replace one's own API token")
    TOKEN_ISSUE_OTHERS = ("token.issue_others", "issue tokens for other users")
    TOKEN_REVOKE = ("token.revoke", "revoke API tokens")
    PLUGIN_LIST = ("plugin.list", "list plugins and their state")
    PLUGIN_SWITCH = ("plugin.switch", "switch plugins")
    PLUGIN_SETTINGS_READ = ("plugin.settings.read", "read plugin settings")
    PLUGIN_SETTINGS_CHANGE = ("plugin.settings.change", "change plugin settings")
    PLUGIN_BREAKER_RESET = ("plugin.breaker.reset", "reset circuit breakers")
    AUDIT_READ = ("audit.read", "read the audit trail")
    AUDIT_VERIFY = ("audit.verify", "verify the audit chain")
    BUREAU_AUTHORIZE = ("bureau.authorize", "record credit-bureau authorizations")
    BUREAU_AUTHORIZATION_READ = ("bureau.authorization.read", "read credit-bureau authorizations")
    BUREAU_AUTHORIZATION_REVOKE = ("bureau.authorization.revoke", "revoke credit-bureau authorizations")
    BUREAU_QUERY = ("bureau.query", "query the credit bureau")
    BUREAU_LOG_READ = ("bureau.log.read", "read the credit-bureau query log")
    BUREAU_LOG_COUNT = ("bureau.log.count", "count credit-bureau queries")
    BUREAU_FULL_ID = ("bureau.full_id", "see identity numbers in full")
    RULES_READ = ("rules.read", "read the rules in force")
    RULES_CHECK = ("rules.check", "check a rule expression")
    PRODUCT_LIST = ("product.list", "list the products offered")
    PRODUCT_TRY = ("product.try", "try a product's decision on a sample applicant; nothing is stored")
    CALENDAR_READ = ("calendar.read", "read the working-day calendar")
    CALENDAR_CHANGE = ("calendar.change", "change the working-day calendar")
    PARAMETER_READ = ("parameter.read", "read parameters (LPR, time limits, caps)")
    PARAMETER_CHANGE = ("parameter.change", "change parameters")
    CUSTOMER_READ = ("customer.read", "see customer files")
    CUSTOMER_CREATE = ("customer.create", "file and update customers")
    CUSTOMER_IMPORT = ("customer.import", "import customer files")
    CUSTOMER_FULL_ID = ("customer.full_id", "see customers' identity numbers in full")
    APPLICATION_FILE = ("application.file", "file loan applications")
    APPLICATION_READ = ("application.read", "see loan applications")
    APPLICATION_DECIDE = ("application.decide", "run the automated decision")
    APPLICATION_WITHDRAW = ("application.withdraw", "withdraw loan applications")
    DECISION_READ = ("decision.read", "read a decision and why it was so")
    DECISION_REPLAY = ("decision.replay", "replay a decision")
    REVIEW_INVESTIGATE = ("review.investigate", "give the investigation opinion")
    REVIEW_REVIEW = ("review.review", "give the central review opinion")
    REVIEW_APPROVE = ("review.approve", "approve or reject after review")
    REVIEW_OVERDUE = ("review.overdue", "list overdue review steps")
    CREDIT_LINE_READ = ("credit_line.read", "see credit lines")
    CREDIT_LINE_FREEZE = ("credit_line.freeze", "freeze and unfreeze credit lines")
    CREDIT_LINE_CLOSE = ("credit_line.close", "close credit lines")
    LOAN_DRAW = ("loan.draw", "draw loans under credit lines")
    LOAN_READ = ("loan.read", "see loans, schedules and transactions")
    LOAN_REPAY = ("loan.repay", "take repayments")
    COLLATERAL_READ = ("collateral.read", "see collateral, valuations and pledges")
    COLLATERAL_REGISTER = ("collateral.register", "register collateral items")
    COLLATERAL_VALUE = ("collateral.value", "value collateral")
    COLLATERAL_PLEDGE = ("collateral.pledge", "pledge collateral and record its registration")
    COLLATERAL_RELEASE = ("collateral.release", "release collateral from credit lines")
    WARNING_READ = ("warning.read", "see warnings, their tasks and counts")
    WARNING_TASK_CLOSE = ("warning.task.close", "close warning tasks with findings")
    WARNING_TASK_REASSIGN = ("warning.task.reassign", "reassign warning tasks")
    WATCHLIST_IMPORT = ("watchlist.import", "load court lists (enforcement, restrictions)")
    CLASSIFICATION_READ = ("classification.read", "see five-tier classes and NPL ratios")
    CLASSIFICATION_PROPOSE = ("classification.propose", "set a loan's class by judgment")
    CLASSIFICATION_APPROVE = ("classification.approve", "approve a class better than the floor")
    RULES_DRAFT = ("rules.draft", "draft, submit and retire rules and monitoring models")
    RULES_APPROVE = ("rules.approve", "approve or reject a colleague's rules")
    RULES_BACKTEST = ("rules.backtest", "backtest rules over the ledger or past decisions")
    MONITORING_READ = ("monitoring.read", "see the suspicious records of monitoring models")
    VILLAGE_READ = ("village.read", "see villages, rosters, peer reviews, offers and ratings")
    VILLAGE_IMPORT = ("village.import", "import village rosters")
    VILLAGE_REVIEW = ("village.review", "open peer review rounds and enter ratings")
    VILLAGE_REVIEW_CLOSE = ("village.review.close", "close (accept) peer review rounds")
    VILLAGE_PRECREDIT = ("village.precredit", "run batch pre-credit")
    VILLAGE_OFFER = ("village.offer", "accept or decline pre-credit offers")
    VILLAGE_RATE = ("village.rate", "rate credit villages")
    LINE_REVIEW = ("line.review", "run the annual review of credit lines")
    SCORECARD_READ = ("scorecard.read", "see scorecards in use, their stability, model warnings and challengers")
    SCORECARD_MONITOR = ("scorecard.monitor", "run the scorecard stability monitor and close model warnings")


EVERYONE = frozenset(Role)
ADMINS = frozenset({Role.PROVINCE_ADMIN, Role.COUNTY_ADMIN})
SWITCHERS = ADMINS | {Role.PRODUCT_MANAGER}
#: Credit staff work with reports and see identity numbers in full.
CREDIT_STAFF = frozenset({Role.CUSTOMER_MANAGER, Role.REVIEWER, Role.APPROVER, Role.POST_LOAN_CHECKER})
#: Credit staff and the auditors (admins, who see identity numbers masked).
BUREAU_READERS = CREDIT_STAFF | ADMINS
RULE_KEEPERS = ADMINS | {Role.PARAMETER_ADMIN}

PERMISSIONS: Mapping[Action, frozenset[Role]] = MappingProxyType({
    Action.INSTITUTION_READ: EVERYONE,
    Action.INSTITUTION_CREATE: ADMINS,
    Action.INSTITUTION_IMPORT: ADMINS,
    Action.INSTITUTION_RENAME: ADMINS,
    Action.INSTITUTION_MOVE: ADMINS,
    Action.USER_READ: ADMINS,
    Action.USER_CREATE: ADMINS,
    Action.USER_CREATE_PROVINCE_ADMIN: frozenset({Role.PROVINCE_ADMIN}),
    Action.USER_ACTIVATE: ADMINS,
    Action.TOKEN_ISSUE_SELF: EVERYONE,
    Action.TOKEN_ISSUE_OTHERS: ADMINS,
    Action.TOKEN_REVOKE: frozenset({Role.PROVINCE_ADMIN}),
    Action.PLUGIN_LIST: EVERYONE,
    Action.PLUGIN_SWITCH: SWITCHERS,
    Action.PLUGIN_SETTINGS_READ: SWITCHERS,
    Action.PLUGIN_SETTINGS_CHANGE: SWITCHERS,
    Action.PLUGIN_BREAKER_RESET: SWITCHERS,
    Action.AUDIT_READ: ADMINS,
    Action.AUDIT_VERIFY: frozenset({Role.PROVINCE_ADMIN}),
    Action.BUREAU_AUTHORIZE: CREDIT_STAFF,
    Action.BUREAU_AUTHORIZATION_READ: BUREAU_READERS,
    Action.BUREAU_AUTHORIZATION_REVOKE: CREDIT_STAFF | {Role.COUNTY_ADMIN},
    Action.BUREAU_QUERY: CREDIT_STAFF,
    Action.BUREAU_LOG_READ: BUREAU_READERS,
    Action.BUREAU_LOG_COUNT: BUREAU_READERS,
    Action.BUREAU_FULL_ID: CREDIT_STAFF,
    Action.RULES_READ: EVERYONE,
    Action.RULES_CHECK: EVERYONE,
    Action.PRODUCT_LIST: EVERYONE,
    # product managers try what a product (and a draft setting) decides, as do the rule keepers
    Action.PRODUCT_TRY: RULE_KEEPERS | {Role.PRODUCT_MANAGER},
    Action.CALENDAR_READ: EVERYONE,
    Action.CALENDAR_CHANGE: frozenset({Role.PROVINCE_ADMIN}),
    Action.PARAMETER_READ: EVERYONE,
    Action.PARAMETER_CHANGE: ADMINS | {Role.PARAMETER_ADMIN},
    Action.CUSTOMER_READ: BUREAU_READERS,
    Action.CUSTOMER_CREATE: frozenset({Role.CUSTOMER_MANAGER, Role.COUNTY_ADMIN}),
    Action.CUSTOMER_IMPORT: frozenset({Role.CUSTOMER_MANAGER, Role.COUNTY_ADMIN}),
    Action.CUSTOMER_FULL_ID: CREDIT_STAFF,
    Action.APPLICATION_FILE: frozenset({Role.CUSTOMER_MANAGER}),
    Action.APPLICATION_READ: BUREAU_READERS,
    Action.APPLICATION_DECIDE: frozenset({Role.CUSTOMER_MANAGER}),
    Action.APPLICATION_WITHDRAW: frozenset({Role.CUSTOMER_MANAGER, Role.COUNTY_ADMIN}),
    Action.DECISION_READ: BUREAU_READERS | {Role.PARAMETER_ADMIN},
    Action.DECISION_REPLAY: ADMINS | {Role.PARAMETER_ADMIN, Role.REVIEWER, Role.APPROVER},
    Action.REVIEW_INVESTIGATE: frozenset({Role.CUSTOMER_MANAGER}),
    Action.REVIEW_REVIEW: frozenset({Role.REVIEWER}),
    Action.REVIEW_APPROVE: frozenset({Role.APPROVER}),
    Action.REVIEW_OVERDUE: ADMINS,
    Action.CREDIT_LINE_READ: BUREAU_READERS,
    Action.CREDIT_LINE_FREEZE: frozenset({Role.COUNTY_ADMIN, Role.APPROVER, Role.POST_LOAN_CHECKER}),
    Action.CREDIT_LINE_CLOSE: frozenset({Role.COUNTY_ADMIN, Role.APPROVER}),
    Action.LOAN_DRAW: frozenset({Role.CUSTOMER_MANAGER}),
    Action.LOAN_READ: BUREAU_READERS,
    Action.LOAN_REPAY: frozenset({Role.CUSTOMER_MANAGER, Role.COUNTY_ADMIN}),
    Action.COLLATERAL_READ: BUREAU_READERS,
    Action.COLLATERAL_REGISTER: frozenset({Role.CUSTOMER_MANAGER, Role.COUNTY_ADMIN}),
    Action.COLLATERAL_VALUE: frozenset({Role.CUSTOMER_MANAGER, Role.POST_LOAN_CHECKER, Role.COUNTY_ADMIN}),
    Action.COLLATERAL_PLEDGE: frozenset({Role.CUSTOMER_MANAGER, Role.COUNTY_ADMIN}),
    Action.COLLATERAL_RELEASE: frozenset({Role.APPROVER, Role.COUNTY_ADMIN}),
    # early warning: the customer manager follows a warning up; the post-loan checker (贷后检查岗)
    # may close it too, and with the approver (the branch head's role) and the county admin hands
    # tasks on; a class better than the floor needs a second person of the approving roles.
    Action.WARNING_READ: BUREAU_READERS,
    Action.WARNING_TASK_CLOSE: frozenset({Role.CUSTOMER_MANAGER, Role.POST_LOAN_CHECKER}),
    Action.WARNING_TASK_REASSIGN: frozenset({Role.COUNTY_ADMIN, Role.APPROVER, Role.POST_LOAN_CHECKER}),
    Action.WATCHLIST_IMPORT: ADMINS,
    Action.CLASSIFICATION_READ: BUREAU_READERS,
    Action.CLASSIFICATION_PROPOSE: frozenset({Role.COUNTY_ADMIN, Role.APPROVER, Role.POST_LOAN_CHECKER}),
    Action.CLASSIFICATION_APPROVE: frozenset({Role.COUNTY_ADMIN, Role.APPROVER}),
    # rules kept by staff: parameter admins (参数管理岗) and the admins write and approve them, a
    # second person of the owner institution publishing (maker-checker, in the services); product
    # managers may also try a rule on past data; credit staff follow the suspicious records up.
    Action.RULES_DRAFT: RULE_KEEPERS,
    Action.RULES_APPROVE: RULE_KEEPERS,
    Action.RULES_BACKTEST: RULE_KEEPERS | {Role.PRODUCT_MANAGER},
    Action.MONITORING_READ: BUREAU_READERS | {Role.PARAMETER_ADMIN},
    Action.VILLAGE_READ: BUREAU_READERS | {Role.PRODUCT_MANAGER},
    Action.VILLAGE_IMPORT: frozenset({Role.CUSTOMER_MANAGER, Role.COUNTY_ADMIN}),
    Action.VILLAGE_REVIEW: frozenset({Role.CUSTOMER_MANAGER, Role.COUNTY_ADMIN}),
    Action.VILLAGE_REVIEW_CLOSE: frozenset({Role.COUNTY_ADMIN, Role.APPROVER}),
    Action.VILLAGE_PRECREDIT: frozenset({Role.COUNTY_ADMIN, Role.APPROVER}),
    Action.VILLAGE_OFFER: frozenset({Role.CUSTOMER_MANAGER}),
    Action.VILLAGE_RATE: frozenset({Role.COUNTY_ADMIN, Role.APPROVER}),
    Action.LINE_REVIEW: frozenset({Role.COUNTY_ADMIN, Role.POST_LOAN_CHECKER}),
    Action.SCORECARD_READ: frozenset({Role.PROVINCE_ADMIN, Role.COUNTY_ADMIN, Role.PRODUCT_MANAGER,
                                      Role.PARAMETER_ADMIN}),
    Action.SCORECARD_MONITOR: frozenset({Role.PROVINCE_ADMIN, Role.COUNTY_ADMIN, Role.PARAMETER_ADMIN}),
})


def may(principal: Principal, action: Action) -> bool:
    return principal.role in PERMISSIONS[action]


def require(principal: Principal, action: Action) -> None:
    """403 naming the action and the roles that may perform it."""
    if not may(principal, action):
        allowed = ", ".join(r.value for r in Role if r in PERMISSIONS[action])
        raise Forbidden(f"role {principal.role.value} may not {action.doing} ({action.value}); "
                        f"needs one of: {allowed}")


ABBREVIATIONS: Mapping[Role, str] = MappingProxyType({
    Role.PROVINCE_ADMIN: "PA", Role.COUNTY_ADMIN: "CA", Role.PRODUCT_MANAGER: "PM",
    Role.PARAMETER_ADMIN: "PR", Role.CUSTOMER_MANAGER: "CM", Role.REVIEWER: "RV", Role.APPROVER: "AP",
    Role.POST_LOAN_CHECKER: "PL",
})


def markdown_table() -> str:
    """The table as Markdown, as it appears in this docstring and in the README."""
    roles = list(Role)

    def row(cells: list[str]) -> str:
        return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"

    lines = [row(["action", "what", *(ABBREVIATIONS[r] for r in roles)]), "|---|---|" + "---|" * len(roles)]
    for action in Action:
        lines.append(row([f"`{action.value}`", action.doing,
                          *("x" if r in PERMISSIONS[action] else "" for r in roles)]))
    return "\n".join(lines)

if __name__ == "__main__":  # pragma: no cover
    print(markdown_table())
