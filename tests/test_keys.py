"""The key lifecycle (docs/contract.md §2): creation, private files, key_id, and a secret that never shows."""

from __future__ import annotations

import base64
import json
import os
import pickle
import secrets
import stat
import subprocess
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from testdata_paths import VECTORS

from linkage.keys import (
    ROTATION_DAYS,
    Key,
    KeyFileError,
    compute_key_id,
    describe_key_path,
    key_age_days,
    load_key,
    looks_like_key_material,
    new_key,
    write_key,
)
from pipelines.cli.main import main


def secret_forms(key: Key) -> list[str]:
    """Every spelling of the secret that could end up in text."""
    encoded = base64.b64encode(key.secret).decode()
    return [encoded, encoded[:24], key.secret.hex(), key.secret.hex().upper(), repr(key.secret)]


def assert_no_secret(text: str, key: Key) -> None:
    for form in secret_forms(key):
        assert form not in text


def test_key_id_matches_the_shared_test_key(test_key):
    document = json.loads((VECTORS / "testsleutel.json").read_text(encoding="utf-8"))
    assert test_key.key_id == document["key_id"] == "c623fe5f8f22a953"


def test_new_key_file_is_private_and_loads_back(tmp_path):
    old_umask = os.umask(0o000)  # even with a careless umask the file is 0600
    try:
        key = new_key()
        path = tmp_path / "sub" / "sleutel.json"
        write_key(key, path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text(encoding="utf-8"))
    assert set(document) == {"format", "version", "key", "key_id", "created"}
    assert document["key_id"] == key.key_id == compute_key_id(key.secret)
    assert len(document["key_id"]) == 16
    assert load_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["sleutel.json"]  # no temporary file left behind


def test_new_keys_differ():
    assert new_key().secret != new_key().secret


def test_write_key_never_overwrites(tmp_path):
    path = tmp_path / "sleutel.json"
    write_key(new_key(), path)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="overschreven"):
        write_key(new_key(), path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_load_key_refuses_a_file_others_can_read(tmp_path, mode):
    key = new_key()
    path = tmp_path / "sleutel.json"
    write_key(key, path)
    path.chmod(mode)
    with pytest.raises(KeyFileError, match="chmod 600") as caught:
        load_key(path)
    assert_no_secret(str(caught.value), key)


def test_load_key_refuses_a_tampered_key_id_without_showing_the_key(tmp_path):
    key = new_key()
    path = tmp_path / "sleutel.json"
    document = {"format": "factlab-key", "version": 1, "key": base64.b64encode(key.secret).decode(),
                "key_id": "0000000000000000", "created": key.created}
    path.write_text(json.dumps(document), encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="key_id") as caught:
        load_key(path)
    assert_no_secret(str(caught.value), key)


def test_a_damaged_key_file_shows_no_key_in_the_whole_traceback(tmp_path):
    key = new_key()
    path = tmp_path / "sleutel.json"
    encoded = base64.b64encode(key.secret).decode()
    complete = json.dumps({"format": "factlab-key", "version": 1, "key": encoded, "key_id": key.key_id})
    path.write_text(complete[:-1], encoding="utf-8")  # JSON cut short
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as caught:
        load_key(path)
    shown = "".join(traceback.format_exception(caught.value))
    assert "JSONDecodeError" not in shown
    assert_no_secret(shown, key)


@pytest.mark.parametrize("content", [
    "{not json",
    json.dumps({"format": "iets-anders", "version": 1}),
    json.dumps({"format": "factlab-key", "version": 1, "key": "!!!geen base64!!!", "key_id": "x"}),
    json.dumps({"format": "factlab-key", "version": 1, "key": base64.b64encode(b"kort").decode(),
                "key_id": "x"}),
])
def test_load_key_refuses_broken_files(tmp_path, content):
    path = tmp_path / "sleutel.json"
    path.write_text(content, encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(KeyFileError):
        load_key(path)


def test_load_key_refuses_a_directory_and_a_missing_file(tmp_path):
    with pytest.raises(KeyFileError, match="bestaat niet"):
        load_key(tmp_path / "nergens.json")
    folder = tmp_path / "map"
    folder.mkdir(mode=0o700)
    with pytest.raises(KeyFileError, match="geen gewoon bestand"):
        load_key(folder)


def test_a_key_can_come_from_a_pipe_so_it_can_stay_encrypted_at_rest(tmp_path):
    path = tmp_path / "sleutel.json"
    key = new_key()
    write_key(key, path)
    factlab = Path(sys.executable).with_name("factlab")
    result = subprocess.run(["bash", "-c", f'"{factlab}" key info <(cat "{path}")'], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert f"key_id: {key.key_id}" in result.stdout


def test_the_key_itself_passed_as_a_path_is_not_echoed():
    key = new_key()
    for form in (base64.b64encode(key.secret).decode(), key.secret.hex()):
        assert looks_like_key_material(form)
        with pytest.raises(KeyFileError) as caught:
            load_key(Path(form))
        assert form not in str(caught.value)
        assert "verborgen" in str(caught.value)
    assert not looks_like_key_material("sleutels/2026H1.json")
    assert describe_key_path("sleutels/2026H1.json") == "sleutels/2026H1.json"


def test_a_key_whose_base64_repeats_a_slash_is_not_echoed_once_it_became_a_path():
    # Path("a//b") is "a/b": the secret that reaches the message is no longer valid base64 (CI, stop 33).
    secret = b"\xff\xff\xff" + bytes(range(29))
    form = base64.b64encode(secret).decode()
    assert "//" in form and "//" not in str(Path(form))
    with pytest.raises(KeyFileError) as caught:
        load_key(Path(form))
    assert str(Path(form)) not in str(caught.value)
    assert "verborgen" in str(caught.value)
    for _ in range(2000):
        form = base64.b64encode(secrets.token_bytes(32)).decode()
        assert looks_like_key_material(str(Path(form))), "a key became a path and was not recognised"


def test_repr_str_and_pickle_never_show_the_secret():
    key = new_key()
    for text in (repr(key), str(key), f"{key}", f"{key!r}", repr([key]), repr({"k": key})):
        assert key.key_id in text
        assert_no_secret(text, key)
    with pytest.raises(TypeError, match="nooit geserialiseerd"):
        pickle.dumps(key)


def test_key_age_and_rotation_warning(tmp_path):
    old = Key("x", "2020-01-01T00:00:00Z", b"\0" * 32)
    assert key_age_days(old, datetime(2020, 1, 31, tzinfo=UTC)) == 30
    assert key_age_days(Key("x", "onleesbaar", b"\0" * 32)) is None

    secret = os.urandom(32)
    path = tmp_path / "oud.json"
    path.write_text(json.dumps({"format": "factlab-key", "version": 1,
                                "key": base64.b64encode(secret).decode(), "key_id": compute_key_id(secret),
                                "created": "2020-01-01T00:00:00Z"}))
    path.chmod(0o600)
    result = CliRunner().invoke(main, ["key", "info", str(path)])
    assert result.exit_code == 0
    assert "rapportageperiode" in result.stderr
    fresh = tmp_path / "nieuw.json"
    CliRunner().invoke(main, ["key", "new", "--out", str(fresh)])
    result = CliRunner().invoke(main, ["key", "info", str(fresh)])
    assert result.exit_code == 0 and "rapportageperiode" not in result.stderr
    assert ROTATION_DAYS <= 366


def test_cli_key_new_and_info_show_key_id_never_the_key(tmp_path):
    runner = CliRunner()
    path = tmp_path / "sleutel.json"
    created = runner.invoke(main, ["key", "new", "--out", str(path)])
    assert created.exit_code == 0, created.output
    key = load_key(path)
    info = runner.invoke(main, ["key", "info", str(path)])
    assert info.exit_code == 0
    assert f"key_id: {key.key_id}" in info.output
    assert f"aangemaakt: {key.created}" in info.output
    for result in (created, info):
        assert_no_secret(result.output + result.stderr, key)
    again = runner.invoke(main, ["key", "new", "--out", str(path)])
    assert again.exit_code == 2 and "overschreven" in again.stderr
    path.chmod(0o644)
    refused = runner.invoke(main, ["key", "info", str(path)])
    assert refused.exit_code == 2 and "chmod 600" in refused.stderr


def test_cli_refuses_the_key_as_an_option_value_without_echoing_it(tmp_path):
    key = new_key()
    extract = tmp_path / "levering.csv"
    extract.write_text("postcode;huisnummer;voorziening;begindatum\n1234AB;12;01;2026-01-01\n",
                       encoding="utf-8")
    value = base64.b64encode(key.secret).decode()
    result = CliRunner().invoke(main, ["pseudonymise", str(extract), "--key", value, "--partner", "wijkteam",
                                       "--out", str(tmp_path / "uit.parquet")])
    assert result.exit_code == 2
    assert value not in result.output + result.stderr
    assert not (tmp_path / "uit.parquet").exists()


def _all_commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _all_commands(command, f"{prefix}{name} ")


def test_every_key_parameter_is_a_file_path_without_environment_variable():
    """A key travels only as the path of a private file: never a value in argv or the environment."""
    found = []
    for name, command in _all_commands(main):
        for param in command.params:
            if "key" in param.name or "sleutel" in param.name:
                found.append(name)
                assert isinstance(param.type, click.Path), f"{name} --{param.name} must take a path"
                assert not param.envvar, f"{name} --{param.name} must not read an environment variable"
    assert {"key info", "pseudonymise", "register", "ttp rekey"} <= set(found)
    assert main.context_settings.get("auto_envvar_prefix") is None
