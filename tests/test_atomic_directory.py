"""The output folder is replaced without a window, and a fault at any step leaves the previous output whole.

Faults are injected into the exchange and into each rename of the fallback; a run killed with SIGKILL
leaves temporary folders that the next run removes, and a half-finished swap is put back.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from schemas import atomic
from schemas.atomic import atomic_directory, check_output_folder, remove_stale_temporaries

ROOT = Path(__file__).resolve().parents[1]


def _previous(tmp_path: Path) -> Path:
    out = tmp_path / "uit"
    out.mkdir()
    (out / "manifest.json").write_text('{"run": 1}', encoding="utf-8")
    (out / "samenloop.csv").write_text("oud\n", encoding="utf-8")
    return out


def _contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


def _write_new(folder: Path) -> None:
    (folder / "manifest.json").write_text('{"run": 2}', encoding="utf-8")
    (folder / "samenloop.csv").write_text("nieuw\n", encoding="utf-8")


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_exchange_replaces_the_folder_without_renaming_it_aside(tmp_path, monkeypatch):
    if not atomic.exchange(tmp_path, tmp_path):  # exchanging a path with itself is a no-op where supported
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    out = _previous(tmp_path)

    def no_rename(*args):
        raise AssertionError("the previous output must never be renamed aside when the exchange works")

    monkeypatch.setattr(atomic.os, "rename", no_rename)
    with atomic_directory(out) as staging:
        _write_new(staging)
    assert _contents(out) == {"manifest.json": '{"run": 2}', "samenloop.csv": "nieuw\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uit"]


def test_a_failed_exchange_leaves_the_previous_output(tmp_path, monkeypatch):
    out = _previous(tmp_path)
    before = _contents(out)

    def broken(first, second):
        raise OSError(5, "Input/output error", str(second))

    monkeypatch.setattr(atomic, "exchange", broken)
    with pytest.raises(OSError), atomic_directory(out) as staging:
        _write_new(staging)
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uit"]


@pytest.mark.parametrize("failing_call", [1, 2], ids=["oud-opzij", "nieuw-erin"])
def test_the_fallback_leaves_the_previous_output_when_either_rename_fails(
    tmp_path, monkeypatch, failing_call
):
    out = _previous(tmp_path)
    before = _contents(out)
    monkeypatch.setattr(atomic, "exchange", lambda first, second: False)
    real_rename = os.rename
    calls = []

    def rename(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == failing_call:
            raise OSError(28, "No space left on device")
        return real_rename(src, dst)

    monkeypatch.setattr(atomic.os, "rename", rename)
    with pytest.raises(OSError), atomic_directory(out) as staging:
        _write_new(staging)
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uit"]


def test_a_swap_cut_short_is_put_back_by_the_next_run(tmp_path, monkeypatch):
    """The process dies between 'old aside' and 'new in': OUT is missing, `.uit.<pid>.*.old` holds it."""
    out = _previous(tmp_path)
    before = _contents(out)
    monkeypatch.setattr(atomic, "exchange", lambda first, second: False)
    real_rename = os.rename

    def dies_after_first(src, dst):
        real_rename(src, dst)
        if Path(dst).name.endswith(".old"):
            raise KeyboardInterrupt  # stands for SIGKILL: nothing after this line runs …

    monkeypatch.setattr(atomic.os, "rename", dies_after_first)
    monkeypatch.setattr(atomic.shutil, "rmtree", lambda *a, **k: None)  # … not even the clean-up
    with pytest.raises(KeyboardInterrupt), atomic_directory(out) as staging:
        _write_new(staging)
    monkeypatch.undo()
    assert not out.exists()
    dead = _dead_pid()
    for leftover in tmp_path.iterdir():  # as a dead process left them
        leftover.rename(tmp_path / leftover.name.replace(f".{os.getpid()}.", f".{dead}."))
    handled = remove_stale_temporaries(out)
    assert sorted(n.rsplit(".", 1)[1] for n in handled) == ["old", "tmp"]
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uit"]


def test_temporary_folders_of_a_killed_run_are_removed_by_the_next_run(tmp_path):
    out = _previous(tmp_path)
    script = (
        "import os, signal, sys\nfrom pathlib import Path\nfrom schemas.atomic import atomic_directory\n"
        f"with atomic_directory(Path({str(out)!r})) as staging:\n"
        "    (staging / 'samenloop.csv').write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    process = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.returncode == -signal.SIGKILL
    leftovers = [p for p in tmp_path.iterdir() if p.name != "uit"]
    assert len(leftovers) == 1 and leftovers[0].name.endswith(".tmp")
    assert stat.S_IMODE(leftovers[0].stat().st_mode) == 0o700
    alive = tmp_path / f".uit.{os.getpid()}.levend.tmp"
    alive.mkdir()
    with atomic_directory(out) as staging:
        _write_new(staging)
    assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name, "uit"], "a live run's folder stays"
    assert _contents(out)["samenloop.csv"] == "nieuw\n"


def test_a_symlinked_output_folder_is_replaced_behind_its_link(tmp_path):
    real = _previous(tmp_path)
    link = tmp_path / "laatste"
    link.symlink_to(real)
    with atomic_directory(link) as staging:
        _write_new(staging)
    assert link.is_symlink() and _contents(link)["samenloop.csv"] == "nieuw\n"


def test_only_a_previous_factlab_output_may_be_replaced(tmp_path):
    known = ("manifest.json", "samenloop.csv")
    out = _previous(tmp_path)
    check_output_folder(out, known, "manifest.json")
    check_output_folder(tmp_path / "nieuw", known, "manifest.json")
    (out / "notities.txt").write_text("eigen werk", encoding="utf-8")
    (out / "submap").mkdir()
    with pytest.raises(atomic.OutputFolderError, match=r"notities\.txt, submap/"):
        check_output_folder(out, known, "manifest.json")
    (out / "notities.txt").unlink()
    (out / "submap").rmdir()
    (out / "manifest.json").unlink()
    with pytest.raises(atomic.OutputFolderError, match="manifest.json ontbreekt"):
        check_output_folder(out, known, "manifest.json")


def _killed_inside(tmp_path: Path, body: str) -> None:
    script = (
        "import os, signal\nfrom pathlib import Path\n"
        "from schemas.atomic import private_workdir\nfrom schemas.outpaths import atomic_files\n"
        f"{body}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path / "tmp")}
    process = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path)
    assert process.returncode == -signal.SIGKILL


def test_work_folders_and_temporary_files_of_a_killed_command_are_removed_next_time(tmp_path, monkeypatch):
    (tmp_path / "tmp").mkdir()
    (tmp_path / "levering.parquet").write_bytes(b"vorige")
    _killed_inside(tmp_path, (
        "with private_workdir('levering') as work, atomic_files(Path('levering.parquet')) as (tmp,):\n"
        "    (work / 'staging.parquet').write_bytes(b'pseudoniemen')\n"
        "    tmp.write_bytes(b'half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)"
    ))
    work_left = list((tmp_path / "tmp").iterdir())
    file_left = [p for p in tmp_path.iterdir() if p.name.startswith(".levering.parquet.")]
    assert len(work_left) == 1 and work_left[0].name.startswith("factlab-")
    assert stat.S_IMODE(work_left[0].stat().st_mode) == 0o700
    assert len(file_left) == 1 and stat.S_IMODE(file_left[0].stat().st_mode) == 0o600
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(atomic.tempfile, "tempdir", None)  # read TMPDIR again
    from schemas.outpaths import atomic_files

    with atomic.private_workdir("levering"), atomic_files(tmp_path / "levering.parquet") as (tmp,):
        assert not work_left[0].exists() and not file_left[0].exists()
        tmp.write_bytes(b"nieuw")
    assert (tmp_path / "levering.parquet").read_bytes() == b"nieuw"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["levering.parquet", "tmp"]
