"""Uploads parsed at once on one server are bounded, a dead holder frees its slot, and rows too short to be
songs are refused before they are parsed."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from analysis import dataset
from analysis.dataset import DataError, load_csv
from dashboard.parses import ParsesBusy, ParseSlots


def test_a_second_parse_waits_for_the_slot_and_then_is_asked_to_come_back(tmp_path):
    slots = ParseSlots(tmp_path / "slots", 1)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with slots.slot(wait=1):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    started = time.monotonic()
    with pytest.raises(ParsesBusy, match="reading 1 other upload"):
        with slots.slot(wait=0.5):
            pass
    assert time.monotonic() - started >= 0.5
    release.set()
    holder.join()
    with slots.slot(wait=0):
        pass


def test_a_slot_whose_process_died_is_free_again(tmp_path):
    directory = tmp_path / "slots"
    held = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from dashboard.parses import ParseSlots\n"
        f"slot = ParseSlots(Path({str(directory)!r}), 1).slot(wait=5); slot.__enter__(); print('held', flush=True)\n"
        "time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    assert held.stdout.readline().strip() == "held"
    with pytest.raises(ParsesBusy):
        with ParseSlots(directory, 1).slot(wait=0):
            pass
    held.kill()
    held.wait(10)
    with ParseSlots(directory, 1).slot(wait=2):
        pass


def test_rows_too_short_to_be_songs_are_refused_before_they_are_parsed(sample_csv, monkeypatch):
    header = sample_csv.read_bytes().split(b"\n", 1)[0] + b"\n"
    data = header + (b"," * 22 + b"\r\n") * 200_001

    def parse(*_):
        raise AssertionError("the rows were parsed")

    monkeypatch.setattr(dataset, "_parse", parse)
    with pytest.raises(DataError, match=r"^bare.csv: 200,001 rows of 24 bytes on average, too short to be songs"):
        load_csv(data, name="bare.csv")
