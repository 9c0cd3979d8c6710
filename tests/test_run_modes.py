"""When `factlab run` goes through Prefect: only when a server is configured (or asked for)."""

from __future__ import annotations

import pytest

from pipelines.environment import use_prefect


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("PREFECT_API_URL", "PREFECT_PROFILE", "FACTLAB_PREFECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    return tmp_path


def test_without_a_server_the_run_stays_in_process(clean_env):
    assert use_prefect() is False


def test_an_api_url_in_the_environment_means_prefect(clean_env, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert use_prefect() is True


def test_an_api_url_in_the_active_profile_means_prefect(clean_env):
    (clean_env / "profiles.toml").write_text(
        'active = "team"\n[profiles.team]\nPREFECT_API_URL = "http://server:4200/api"\n'
        '[profiles.ephemeral]\n', encoding="utf-8"
    )
    assert use_prefect() is True


def test_a_profile_without_api_url_stays_in_process(clean_env):
    (clean_env / "profiles.toml").write_text('active = "ephemeral"\n[profiles.ephemeral]\n', encoding="utf-8")
    assert use_prefect() is False


@pytest.mark.parametrize(("choice", "expected"), [("aan", True), ("uit", False), ("auto", False)])
def test_the_analyst_can_choose(clean_env, monkeypatch, choice, expected):
    monkeypatch.setenv("FACTLAB_PREFECT", choice)
    assert use_prefect() is expected


def test_uit_wins_over_a_configured_server(clean_env, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    monkeypatch.setenv("FACTLAB_PREFECT", "uit")
    assert use_prefect() is False
