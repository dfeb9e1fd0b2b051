"""The facts rules may read at each stage: the one schema the core fills and rule packs test against.

A rule pack compiles against these schemas in its own tests, so a misspelt field fails on the
county developer's machine rather than at the province.
"""

from __future__ import annotations

from nongxin.sdk.bureau import BureauSummary
from nongxin.sdk.rules import Field, FieldType, Schema

_BUREAU = [Field(name, FieldType(kind)) for name, kind in BureauSummary.fact_types().items()]

ADMISSION = Schema([
    *_BUREAU,
    Field("amount", FieldType.DECIMAL, "申请金额"),
    Field("term_months", FieldType.INTEGER, "期限月数"),
    Field("age", FieldType.INTEGER, "年龄"),
    Field("annual_income", FieldType.DECIMAL, "年收入"),
    Field("segment", FieldType.STRING, "客群"),
    Field("peer_review", FieldType.STRING, "评议结果"),
    Field("product_code", FieldType.STRING, "产品代码"),
    Field("existing_debt", FieldType.DECIMAL, "本行负债"),
    Field("tax_grade", FieldType.STRING, "纳税等级"),
    Field("filed_revenue", FieldType.DECIMAL, "申报收入"),
    Field("customer_kind", FieldType.STRING, "客户类型"),
    Field("customer_segment", FieldType.STRING, "客户客群"),
    Field("repayment_method", FieldType.STRING, "还款方式"),
    Field("lpr_1y", FieldType.DECIMAL, "一年期LPR"),
    Field("lpr_5y", FieldType.DECIMAL, "五年期以上LPR"),
    # issue 15 (additive): the household's roster figures (整村授信)
    Field("land_mu", FieldType.DECIMAL, "承包土地(亩)"),
    Field("household_assets", FieldType.DECIMAL, "家庭资产"),
    Field("main_business", FieldType.STRING, "主营项目"),
])

POST_LOAN = Schema([
    Field("overdue_days", FieldType.INTEGER, "逾期天数"),
    Field("overdue_amount", FieldType.DECIMAL, "逾期金额"),
    Field("outstanding", FieldType.DECIMAL, "贷款余额"),
    Field("principal", FieldType.DECIMAL, "贷款本金"),
    Field("five_tier", FieldType.STRING, "五级分类"),
    Field("maturity_on", FieldType.DATE, "到期日"),
    Field("as_of", FieldType.DATE, "检查日"),
    Field("product_code", FieldType.STRING, "产品代码"),
    Field("collateral_value", FieldType.DECIMAL, "押品价值"),
    # issue 13 (additive): the loan's own figures beyond the balances, and the court lists
    Field("overdue_principal", FieldType.DECIMAL, "逾期本金"),
    Field("overdue_interest", FieldType.DECIMAL, "逾期利息"),
    Field("days_to_maturity", FieldType.INTEGER, "距到期天数"),
    Field("repayment_method", FieldType.STRING, "还款方式"),
    Field("customer_kind", FieldType.STRING, "客户类型(individual/enterprise)"),
    Field("branch", FieldType.STRING, "经办机构"),
    Field("restructured", FieldType.BOOLEAN, "重组贷款"),
    Field("court_enforcement", FieldType.BOOLEAN, "法院被执行名单"),
    Field("court_consumption_restriction", FieldType.BOOLEAN, "限制高消费名单"),
    Field("court_dishonest_debtor", FieldType.BOOLEAN, "失信被执行人名单"),
    *_BUREAU,
])

#: One row per pledged position (an item securing a credit line): the item's figures, and its line's.
#: A valuation no longer valid counts as zero in ``value`` and everything computed from it.
COLLATERAL = Schema([
    Field("kind", FieldType.STRING, "押品类型"),
    Field("value", FieldType.DECIMAL, "评估价值"),
    Field("secured_outstanding", FieldType.DECIMAL, "担保敞口(授信项下贷款余额)"),
    Field("valued_on", FieldType.DATE, "评估日"),
    Field("as_of", FieldType.DATE, "检查日"),
    Field("ltv_limit", FieldType.NUMBER, "抵质押率上限(按押品组合)"),
    Field("eligible_value", FieldType.DECIMAL, "有效担保价值"),
    Field("ltv", FieldType.NUMBER, "抵质押率"),
    Field("shortfall", FieldType.DECIMAL, "押品缺口"),
    Field("valuation_age_days", FieldType.INTEGER, "评估距今天数"),
    Field("valuation_expired", FieldType.BOOLEAN, "评估已过期"),
    Field("registration", FieldType.STRING, "登记状态"),
    Field("rank", FieldType.INTEGER, "顺位"),
    Field("product_code", FieldType.STRING, "产品代码"),
    Field("days_since_pledged", FieldType.INTEGER, "抵质押天数"),
])

#: The schema of each rule stage.
SCHEMAS: dict[str, Schema] = {"admission": ADMISSION, "post_loan": POST_LOAN, "collateral": COLLATERAL}
