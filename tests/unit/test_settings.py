"""The one settings object: precedence, conversion, clear errors, secrets kept out of repr."""

from __future__ import annotations

import argparse

import pytest

from tixallo_qa.core.settings import (
    Settings,
    SettingsError,
    add_arguments,
    format_env,
    from_args,
    load_settings,
    parse_env_file,
)

pytestmark = pytest.mark.unit


def test_defaults_describe_the_embedded_target() -> None:
    s = load_settings(environ={})
    assert s.embedded
    assert (s.sink_host, s.sink_port, s.rate_limit) == ("127.0.0.1", 8787, 60)
    assert (s.profile, s.webhook_timeout) == ("standard", 10.0)


def test_precedence_env_file_then_environment_then_flags(tmp_path) -> None:
    env_file = tmp_path / "t.env"
    env_file.write_text(
        "# comment\nexport TIXALLO_BASE_URL='https://a.example/api/v1'\n"
        "TIXALLO_RATE_LIMIT=10\nTIXALLO_PROFILE=smoke\n"
    )
    s = load_settings(
        env_file=env_file,
        environ={"TIXALLO_RATE_LIMIT": "20", "TIXALLO_PROFILE": "thorough"},
        overrides={"profile": "standard"},
    )
    assert s.base_url == "https://a.example/api/v1"
    assert s.rate_limit == 20
    assert s.profile == "standard"


def test_key_pool_is_comma_separated() -> None:
    s = load_settings(environ={"TIXALLO_API_KEY": " k1 , k2,,k3 "})
    assert s.api_keys == ("k1", "k2", "k3")
    assert s.api_key == "k1"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"TIXALLO_SINK_PORT": "abc"}, "TIXALLO_SINK_PORT='abc'"),
        ({"TIXALLO_SINK_PORT": "70000"}, "TIXALLO_SINK_PORT=70000"),
        ({"TIXALLO_PROFILE": "huge"}, "smoke, standard, thorough"),
        ({"TIXALLO_BASE_URL": "tixallo.com/api/v1"}, "https://tixallo.com/api/v1"),
        ({"TIXALLO_RATE_LIMIT": "-1"}, "TIXALLO_RATE_LIMIT=-1"),
        ({"TIXALLO_WEBHOOK_TIMEOUT": "0"}, "TIXALLO_WEBHOOK_TIMEOUT"),
    ],
)
def test_malformed_settings_name_the_setting_and_the_fix(
    env: dict[str, str], fragment: str
) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(environ=env)
    assert fragment in str(info.value)


def test_env_file_errors_name_the_file_and_line(tmp_path) -> None:
    bad = tmp_path / "bad.env"
    bad.write_text("TIXALLO_PROFILE=smoke\nnot a setting line\n")
    with pytest.raises(SettingsError, match=r"line 2"):
        parse_env_file(bad)
    with pytest.raises(SettingsError, match="cannot be read"):
        parse_env_file(tmp_path / "missing.env")


def test_secrets_stay_out_of_repr_and_formatted_output() -> None:
    s = Settings(
        api_keys=("txk_secret_main",),
        webhook_secret="whsec_topsecret",
        internal_note_marker="MARK-123",
    )
    assert "txk_secret_main" not in repr(s)
    assert "whsec_topsecret" not in repr(s)
    shown = format_env(s)
    assert "txk_secret_main" not in shown and "<redacted>" in shown
    assert "txk_secret_main" in format_env(s, reveal=True)
    assert set(s.secrets) == {"txk_secret_main", "whsec_topsecret", "MARK-123"}


def test_cli_flags_override_environment() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--base-url", "http://127.0.0.1:9/api/v1", "--rate-limit", "0"])
    s = from_args(
        args, environ={"TIXALLO_RATE_LIMIT": "60", "TIXALLO_BASE_URL": "https://x.example"}
    )
    assert s.base_url == "http://127.0.0.1:9/api/v1"
    assert s.rate_limit == 0


def test_to_env_round_trips() -> None:
    s = Settings(base_url="https://x.example/api/v1", api_keys=("a", "b"), sink_port=9999)
    assert load_settings(environ=s.to_env()) == s
    assert s.missing("other_api_key", "api_keys") == ["TIXALLO_OTHER_API_KEY"]


def test_boolean_settings() -> None:
    assert load_settings(environ={"TIXALLO_WEBHOOK_SHARED": "yes"}).webhook_shared is True
    assert load_settings(environ={"TIXALLO_WEBHOOK_SHARED": "0"}).webhook_shared is False
    with pytest.raises(SettingsError, match=r"TIXALLO_WEBHOOK_SHARED='maybe'.*true or false"):
        load_settings(environ={"TIXALLO_WEBHOOK_SHARED": "maybe"})


def test_the_secrets_repr_names_only_how_many() -> None:
    settings = Settings(api_keys=("txk_first_secret_key",), webhook_secret="whsec_hidden_value")
    assert set(settings.secrets) == {"txk_first_secret_key", "whsec_hidden_value"}
    shown = repr((settings, settings.secrets))
    assert "txk_first_secret_key" not in shown and "whsec_hidden_value" not in shown
    assert "<2 secrets>" in shown
