"""Long loops report progress: a bar on a terminal; in a log (stderr not a tty) one line per epoch or chunk with
the count, rate and elapsed time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import run_cli

from dnactx.progress import Progress, duration

DATA = Path(__file__).parent / "data" / "prepare"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_chunk_in_a_log_is_one_line_with_count_rate_elapsed_and_eta(capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    with Progress("encoding val", total=1000, unit="windows", clock=clock) as progress:
        assert not progress.terminal  # capsys's stderr is not a tty
        progress.advance(250)
        clock.now += 5
        progress.chunk()
        progress.advance(750)
        clock.now += 5
        progress.chunk("done")
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "encoding val: 250/1,000 windows (25%) · 50 windows/s · elapsed 5.0 s · ETA 15.0 s",
        "encoding val: 1,000/1,000 windows (100%) · 100 windows/s · elapsed 10.0 s · done",
    ]


def test_advancing_within_a_chunk_writes_nothing_to_a_log(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress("x", total=10) as progress:
        for _ in range(10):
            progress.advance()
    assert capsys.readouterr().err == ""


def test_a_new_phase_has_its_own_count_and_rate_but_elapsed_goes_on(capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    progress = Progress("epoch 1/2", total=100, unit="sites", clock=clock)
    progress.advance(100)
    clock.now += 10
    progress.chunk("loss 0.5", rate_seconds=4.0)  # the epoch's validation took the other 6 s
    progress.restart("epoch 2/2", total=100, done=40)  # a resumed epoch starts part way
    progress.advance(60)
    clock.now += 3
    progress.chunk()
    assert capsys.readouterr().err.splitlines() == [
        "epoch 1/2: 100/100 sites (100%) · 25 sites/s · elapsed 10.0 s · loss 0.5",
        "epoch 2/2: 100/100 sites (100%) · 20 sites/s · elapsed 13.0 s",
    ]


def test_unknown_total_has_no_percentage_or_eta(capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    progress = Progress("reading calls", unit="rows", clock=clock)
    progress.advance(2_000_000)
    clock.now += 4
    assert progress.chunk("calls.txt") == "reading calls: 2,000,000 rows · 500,000 rows/s · elapsed 4.0 s · calls.txt"


def test_disabled_or_off_progress_writes_nothing(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert Progress("x", enabled=False).chunk() is None
    monkeypatch.setenv("DNACTX_PROGRESS", "off")
    Progress("x").line("hello")
    assert capsys.readouterr().err == ""


def test_durations_read_as_a_person_would_say_them() -> None:
    assert [duration(s) for s in (4.24, 185, 7_700)] == ["4.2 s", "3 min 05 s", "2 h 08 min"]


def test_prepare_writes_a_line_per_chunk_of_rows_and_per_chromosome(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["prepare", "--genome", str(DATA / "genome.fa"), "--calls", str(DATA / "calls.CGmap"),
                            "--out", str(tmp_path / "out"), "--window", "10", "--split", "chroms",
                            "--val-chroms", "chrB", "--test-chroms", "chrC", "--control-chrom", "L"], capsys)
    assert code == 0, err
    assert re.search(r"^reading calls: [\d,]+ rows · [\d,.]+ rows/s · elapsed [\d.]+ s · calls\.CGmap$", err, re.M)
    built = re.findall(r"^building sites: ([\d,]+)/([\d,]+) records \(\d+%\) · .* · (chr\w)$", err, re.M)
    assert [b[2] for b in built] == ["chrA", "chrB", "chrC"] and built[-1][0] == built[-1][1]


@pytest.mark.slow
def test_training_writes_encoding_chunks_and_one_line_per_epoch(tiny_dataset: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["--home", str(tmp_path / "runs"), "train", "--data", str(tiny_dataset), "--model",
                            "dnabert6-tiny", "--finetune", "frozen", "--size", "20", "--epochs", "2", "--patience",
                            "5"], capsys)
    assert code == 0, err
    for split in ("train", "val", "test"):
        assert re.search(rf"^encoding {split}: [\d,]+/[\d,]+ windows \(100%\) · [\d,.]+ windows/s · elapsed", err,
                         re.M), split
    epochs = re.findall(r"^epoch (\d)/2: [\d,]+/[\d,]+ sites \(100%\) · [\d,.]+ sites/s · elapsed [\d.]+ s · "
                        r"loss [\d.]+ · val AUPRC [\d.]+ · epoch [\d.]+ s$", err, re.M)
    assert epochs == ["1", "2"]
