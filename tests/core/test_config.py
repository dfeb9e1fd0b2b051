import pytest

from nongxin.core.app import create_app
from nongxin.core.config import DEFAULT_SECRET, Settings
from nongxin.core.errors import ConfigurationError


def test_production_refuses_the_default_secret():
    with pytest.raises(ConfigurationError, match="NONGXIN_SECRET_KEY"):
        create_app(Settings(environment="production", secret_key=DEFAULT_SECRET,
                            database_url="sqlite://"))


def test_production_starts_with_a_real_secret():
    app = create_app(Settings(environment="production", secret_key="x" * 40, audit_key="k" * 40,
                              database_url="sqlite://"))
    assert app.config["SECRET_KEY"] == "x" * 40


def test_settings_from_environment():
    settings = Settings.from_env({"NONGXIN_DATABASE_URL": "sqlite:///x.db", "NONGXIN_TOKEN_DAYS": "7",
                                  "NONGXIN_TRACE_PLUGINS": "1"})
    assert (settings.database_url, settings.token_days, settings.trace_plugins) == ("sqlite:///x.db", 7, True)


def test_bad_number_in_environment_names_the_variable():
    with pytest.raises(ConfigurationError, match="NONGXIN_TOKEN_DAYS"):
        Settings.from_env({"NONGXIN_TOKEN_DAYS": "seven"})


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigurationError, match="NONGXIN_ENV"):
        Settings(environment="prod").check()


@pytest.mark.parametrize("secret", ["x", "", "   ", DEFAULT_SECRET + " ", " " + "y" * 31 + " "])
def test_production_refuses_a_short_empty_or_padded_default_secret(secret):
    with pytest.raises(ConfigurationError, match="NONGXIN_SECRET_KEY"):
        create_app(Settings(environment="production", secret_key=secret, database_url="sqlite://"))


def test_token_lifetimes_are_capped_by_configuration():
    settings = Settings.from_env({"NONGXIN_TOKEN_MAX_DAYS": "30"})
    assert (settings.token_max_days, settings.token_days) == (30, 30)  # the default follows the cap down
    with pytest.raises(ConfigurationError, match="NONGXIN_TOKEN_MAX_DAYS"):
        Settings.from_env({"NONGXIN_TOKEN_MAX_DAYS": "366"}).check()
    with pytest.raises(ConfigurationError, match="NONGXIN_TOKEN_DAYS"):
        Settings.from_env({"NONGXIN_TOKEN_MAX_DAYS": "30", "NONGXIN_TOKEN_DAYS": "60"}).check()
    Settings.from_env({"NONGXIN_TOKEN_MAX_DAYS": "365", "NONGXIN_TOKEN_DAYS": "365"}).check()
