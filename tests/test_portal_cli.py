"""`factlab portal`: accounts from the command line (passwords never on argv) and start-up checks."""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner

from pipelines.cli.main import main
from portal.store import PortalStore

PASSWORD = "een-lang-wachtwoord-42"


def test_add_list_change_and_remove_accounts(tmp_path):
    data = tmp_path / "portal-data"
    runner = CliRunner()
    added = runner.invoke(
        main,
        [
            "portal",
            "gebruiker",
            "toevoegen",
            "jeugdhulp-noord",
            "--rol",
            "partner",
            "--weergavenaam",
            "Jeugdhulp Noord",
            "--data",
            str(data),
        ],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert "leveringen/jeugdhulp-noord.parquet" in added.output
    assert (
        runner.invoke(
            main,
            ["portal", "gebruiker", "toevoegen", "beleid", "--rol", "analist", "--data", str(data)],
            input=PASSWORD + "\n",
        ).exit_code
        == 0
    )
    listed = runner.invoke(main, ["portal", "gebruiker", "lijst", "--data", str(data)])
    assert (
        "jeugdhulp-noord" in listed.output
        and "Jeugdhulp Noord" in listed.output
        and PASSWORD not in listed.output
    )
    store = PortalStore(data)
    assert store.authenticate("jeugdhulp-noord", PASSWORD).rol == "partner"
    with sqlite3.connect(store.path) as con:
        assert PASSWORD not in str(con.execute("SELECT * FROM gebruikers").fetchall())
    assert (store.path.stat().st_mode & 0o077) == 0

    changed = runner.invoke(
        main,
        ["portal", "gebruiker", "wachtwoord", "jeugdhulp-noord", "--data", str(data)],
        input="een-ander-wachtwoord-7\n",
    )
    assert changed.exit_code == 0
    assert store.authenticate("jeugdhulp-noord", PASSWORD) is None
    assert store.authenticate("jeugdhulp-noord", "een-ander-wachtwoord-7") is not None
    removed = runner.invoke(
        main, ["portal", "gebruiker", "verwijderen", "jeugdhulp-noord", "--data", str(data)]
    )
    assert removed.exit_code == 0 and store.get_user("jeugdhulp-noord") is None


def test_bad_accounts_are_refused_with_a_dutch_reason(tmp_path):
    data = tmp_path / "portal-data"
    runner = CliRunner()

    def add(name: str, password: str = PASSWORD, rol: str = "partner"):
        return runner.invoke(
            main,
            ["portal", "gebruiker", "toevoegen", name, "--rol", rol, "--data", str(data)],
            input=password + "\n",
        )

    assert add("zorg").exit_code == 0
    for name, password, phrase in (
        ("zorg", PASSWORD, "bestaat al"),
        ("../etc", PASSWORD, "niet toegestaan"),
        ("Hoofd Letters", PASSWORD, "niet toegestaan"),
        ("kort-ww", "kort", "12 tekens"),
    ):
        result = add(name, password)
        assert result.exit_code == 2 and phrase in result.output, (name, result.output)
    assert add("x", rol="beheerder").exit_code == 2


def test_password_is_never_an_argument():
    runner = CliRunner()
    result = runner.invoke(main, ["portal", "gebruiker", "toevoegen", "--help"])
    assert "--wachtwoord" not in result.output and "--password" not in result.output


def test_start_refuses_an_unusable_key_or_period(tmp_path):
    from linkage.keys import new_key, write_key

    runner = CliRunner()
    missing = runner.invoke(
        main,
        [
            "portal",
            "start",
            "--sleutel",
            str(tmp_path / "geen.json"),
            "--inbox",
            str(tmp_path / "inbox"),
            "--periode",
            "2026H1",
            "--data",
            str(tmp_path / "d"),
        ],
    )
    assert missing.exit_code == 2 and "bestaat niet" in missing.output
    key_file = tmp_path / "sleutel.json"
    write_key(new_key(), key_file)
    bad_period = runner.invoke(
        main,
        [
            "portal",
            "start",
            "--sleutel",
            str(key_file),
            "--inbox",
            str(tmp_path / "in"),
            "--periode",
            "2026H3",
            "--data",
            str(tmp_path / "d"),
        ],
    )
    assert bad_period.exit_code == 2 and "periode" in bad_period.output


def test_start_refuses_a_trusted_proxy_that_is_no_address(tmp_path):
    from linkage.keys import new_key, write_key

    key_file = tmp_path / "sleutel.json"
    write_key(new_key(), key_file)
    arguments = ["portal", "start", "--sleutel", str(key_file), "--inbox", str(tmp_path / "in")]
    arguments += ["--periode", "2026H1", "--data", str(tmp_path / "d"), "--vertrouwde-proxy", "proxy.local"]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 2 and "geen IP-adres" in result.output
