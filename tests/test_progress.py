"""Progress on the terminal (pipelines/progress.py): silent off a terminal, drawn when forced, counts only."""

from __future__ import annotations

import io
import re
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from linkage.keys import new_key, write_key
from pipelines import progress as progress_module
from pipelines.cli.main import main
from pipelines.intake.delivery import pseudonymise_delivery
from pipelines.progress import ENV, Progress, progress, wanted
from schemas.codelist import load_code_list

EXTRACTS = Path(__file__).parent / "testdata" / "extracts"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _shown_soon(bar: Progress) -> None:
    """Wait (briefly) until the timer thread has started the display."""
    for _ in range(200):
        if bar._bar is not None:
            return
        time.sleep(0.01)
    raise AssertionError("de voortgang verscheen niet")


def test_off_a_terminal_nothing_is_wanted_and_nothing_is_written(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert not wanted()  # pytest's captured streams are no terminal
    stream = io.StringIO()
    with progress(stream=stream) as bar:
        bar.stage("controleren", 10)
        bar.advance(10)
        time.sleep(0.05)
    assert stream.getvalue() == ""


@pytest.mark.parametrize(("setting", "shown"), [("aan", True), ("uit", False)])
def test_the_setting_forces_progress_on_or_off(monkeypatch, setting, shown):
    monkeypatch.setenv(ENV, setting)
    assert wanted() is shown


def test_forced_progress_draws_stage_rows_and_time_left():
    stream = io.StringIO()
    bar = Progress(True, delay=0, stream=stream)
    bar.start()
    _shown_soon(bar)
    bar.stage("controleren en pseudonimiseren", 1000)
    bar.advance(400)
    bar._bar.refresh()
    bar.close()
    text = ANSI.sub("", stream.getvalue())
    assert "controleren en pseudonimiseren" in text
    assert "400/1000" in text
    assert "nog" in text


def test_work_under_the_delay_prints_nothing():
    stream = io.StringIO()
    with progress(shown=True, stream=stream) as bar:  # the default delay of a second
        bar.stage("controleren", 10)
        bar.advance(10)
    time.sleep(0.05)
    assert stream.getvalue() == ""


def test_progress_of_a_delivery_names_stages_and_counts_never_values(tmp_path):
    stream = io.StringIO()
    key = new_key()
    bar = Progress(True, delay=0, stream=stream)
    bar.start()
    _shown_soon(bar)
    seen = []
    real_advance = bar.advance

    def advance(rows):
        real_advance(rows)
        bar._bar.refresh()
        seen.append(ANSI.sub("", stream.getvalue()))

    bar.advance = advance
    out = tmp_path / "uit.parquet"
    result = pseudonymise_delivery(EXTRACTS / "fouten.csv", key, "test", out, load_code_list(), None, bar)
    bar.close()
    text = ANSI.sub("", stream.getvalue())
    assert "controleren en pseudonimiseren" in text and "records schrijven" in text
    assert f"{result.rows_written}/{result.rows_written}" in seen[-1]
    pseudonyms = pq.read_table(out).column("adres_pseudoniem").to_pylist()
    source = (EXTRACTS / "fouten.csv").read_text(encoding="utf-8")
    postcodes = set(re.findall(r"^([0-9]{4} ?[A-Za-z]{2});", source, flags=re.M))
    assert postcodes and pseudonyms
    for secret in [*postcodes, *pseudonyms, key.secret.hex(), key.key_id]:
        assert secret not in text


def test_the_commands_print_no_progress_when_not_on_a_terminal(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(progress_module, "DELAY_SECONDS", 0.0)
    source = tmp_path / "fouten.csv"
    shutil.copyfile(EXTRACTS / "fouten.csv", source)
    keyfile = tmp_path / "sleutel.json"
    write_key(new_key(), keyfile)
    runner = CliRunner()
    checked = runner.invoke(main, ["validate", str(source)])
    made = runner.invoke(main, ["pseudonymise", str(source), "--key", str(keyfile), "--partner", "test",
                                "--out", str(tmp_path / "uit.parquet")])
    assert made.exit_code == 0, made.output
    for result in (checked, made):
        printed = result.output + (result.stderr if result.stderr_bytes is not None else "")
        assert "\x1b[" not in printed
        assert "controleren" not in printed and "records schrijven" not in printed


def test_a_step_deeper_down_reports_its_own_stages_through_a_hook():
    stream = io.StringIO()
    bar = Progress(True, delay=0, stream=stream)
    bar.start()
    _shown_soon(bar)
    assert progress_module.active() is None
    with progress_module.activated(bar):
        assert progress_module.active() is bar
        hook = progress_module.stage_hook(progress_module.active())
        hook("beveiligen: extra geheime cellen nalopen", 0, 10)
        hook("beveiligen: extra geheime cellen nalopen", 4, 10)
        bar._bar.refresh()
    assert progress_module.active() is None
    bar.close()
    text = ANSI.sub("", stream.getvalue())
    assert "beveiligen: extra geheime cellen nalopen" in text and "4/10" in text
