"""Everything a Factlab command creates is private: folders 0700, files 0600, PREFECT_HOME 0700."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from pipelines.cli.main import main
from pipelines.environment import configure_prefect

ROOT = Path(__file__).resolve().parents[1]
EXTRACTS = Path(__file__).parent / "testdata" / "extracts"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_command_line_sets_a_private_umask(monkeypatch):
    os.umask(0o022)
    result = CliRunner().invoke(main, ["key", "info", "bestaat-niet.json"])
    assert result.exit_code == 2
    assert os.umask(0o022) == 0o077


def test_reports_and_their_new_folders_are_private_under_a_careless_umask(tmp_path):
    shutil.copyfile(EXTRACTS / "fouten.csv", tmp_path / "x.csv")
    code = (
        "import os\nos.umask(0o022)\nfrom pipelines.cli.main import main\n"
        "main(['validate', 'x.csv', '--rapport', 'nieuw/rapport'])\n"
    )
    process = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.returncode == 1, process.stderr
    folder = tmp_path / "nieuw" / "rapport"
    assert [_mode(tmp_path / "nieuw"), _mode(folder)] == [0o700, 0o700]
    written = sorted(folder.iterdir())
    assert [p.name for p in written] == ["x.controle.csv", "x.controle.html"]
    assert {_mode(p) for p in written} == {0o600}


def test_prefect_home_is_made_private(tmp_path, monkeypatch):
    fresh, existing = tmp_path / "nieuw" / ".prefect", tmp_path / "bestaand"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    for home in (fresh, existing):
        monkeypatch.setenv("PREFECT_HOME", str(home))
        configure_prefect()
        assert _mode(home) == 0o700, home


def test_duckdb_spills_into_a_private_work_folder_not_the_current_folder(tmp_path, monkeypatch):
    from linkage.linking import private_connection

    with private_connection() as con:
        spill = Path(con.execute("select current_setting('temp_directory')").fetchone()[0])
        assert spill.name.startswith(f"factlab-{os.getpid()}-duckdb-")
        assert _mode(spill) == 0o700
    assert not spill.exists()
