from alembic import context

from nongxin.core.db import make_engine
from nongxin.core.models import metadata

config = context.config
engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url"))

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      compare_type=True)
    context.run_migrations()
