"""Imports every model module so the metadata is complete for Alembic and for tests."""

from nongxin.core.audit import models as audit_models  # noqa: F401
from nongxin.core.bureau import models as bureau_models  # noqa: F401
from nongxin.core.calendar import models as calendar_models  # noqa: F401
from nongxin.core.collateral import models as collateral_models  # noqa: F401
from nongxin.core.console import models as console_models  # noqa: F401
from nongxin.core.credit import models as credit_models  # noqa: F401
from nongxin.core.customers import models as customer_models  # noqa: F401
from nongxin.core.db import Base
from nongxin.core.early_warning import models as early_warning_models  # noqa: F401
from nongxin.core.institutions import models as institution_models  # noqa: F401
from nongxin.core.parameters import models as parameter_models  # noqa: F401
from nongxin.core.plugin_state import models as plugin_models  # noqa: F401
from nongxin.core.rules import models as rule_models  # noqa: F401
from nongxin.core.scorecards import models as scorecard_models  # noqa: F401
from nongxin.core.village import models as village_models  # noqa: F401

metadata = Base.metadata
