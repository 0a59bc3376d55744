"""The bundled demo data and its generator: the real file's schema and structure, none of its rows."""
from __future__ import annotations

import csv
import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.dataset import load_csv
from analysis.result import REQUIRED_COLUMNS

SCRIPTS = {
    "Latin with accents": "[áéíóúãçñêôàèÁÉÍÓÚÇÑ]",
    "Cyrillic": "[\u0400-\u04ff]",
    "Chinese": "[\u4e00-\u9fff]",
    "Thai": "[\u0e00-\u0e7f]",
    "Turkish": "[ğşıĞŞİ]",
}


@pytest.fixture(scope="module")
def generator():
    script = Path(__file__).resolve().parent.parent / "data" / "generate_demo.py"
    spec = importlib.util.spec_from_file_location("generate_demo", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo(demo_csv) -> pd.DataFrame:
    return pd.read_csv(demo_csv, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def songs(generator) -> pd.DataFrame:
    return generator.generate(20_000, seed=11)


def test_bundled_file_has_the_real_schema_crlf_and_5000_rows(demo_csv, demo):
    assert list(demo.columns) == list(REQUIRED_COLUMNS)
    assert len(demo) == 5_000
    content = demo_csv.read_bytes()
    assert content.count(b"\r\n") == content.count(b"\n") == 5_001 + demo["name_song"].str.count("\n").sum()
    assert not content.startswith(b"\xef\xbb\xbf")


def test_bundled_file_is_what_the_generator_writes(generator, demo_csv, tmp_path):
    path = tmp_path / "demo.csv"
    generator.save(generator.generate(generator.DEMO_ROWS), path)
    assert path.read_bytes() == demo_csv.read_bytes(), "data/demo_songs.csv is stale: run data/generate_demo.py"


def test_bundled_file_loads_cleanly(demo_csv):
    dataset = load_csv(demo_csv)
    assert dataset.report.rows_kept == 5_000
    found = {(a.column, a.problem) for a in dataset.report.actions}
    assert found == {
        ("tempo", "is 0 (tempo unknown)"),
        ("time_signature", "is 0"),
        ("name_song", "repeats an earlier song (name + artist) under another id"),
    }
    assert dataset.frame["release_year"].notna().all()


def test_same_seed_same_songs_other_seed_other_songs(generator):
    first = generator.generate(300, seed=3)
    assert first.equals(generator.generate(300, seed=3))
    assert not first["id_songs"].isin(generator.generate(300, seed=4)["id_songs"]).any()


def test_generate_keeps_the_schema_and_types(songs):
    assert list(songs.columns) == list(REQUIRED_COLUMNS)
    for column in ("popularity_songs", "duration_ms", "explicit", "key", "mode", "time_signature", "followers"):
        assert songs[column].dtype == np.int64, column
    assert songs["id_songs"].str.fullmatch(r"[0-9A-Za-z]{22}").all()
    assert songs["id_artists"].str.fullmatch(r"[0-9A-Za-z]{22}").all()
    assert songs["id_songs"].is_unique


def test_four_kinds_of_songs_in_realistic_shares(songs):
    spoken = songs["speechiness"] > 0.66
    instrumental = songs["instrumentalness"] > 0.5
    assert 0.09 < spoken.mean() < 0.15
    assert 0.07 < instrumental.mean() < 0.11
    assert songs.loc[spoken, "liveness"].mean() > songs.loc[~spoken, "liveness"].mean() + 0.2
    assert songs.loc[spoken, "genres"].str.contains("hoerspiel").mean() > 0.2
    calm = songs["acousticness"] > 0.6
    assert songs.loc[calm, "energy"].mean() < 0.35
    assert (songs["energy"] > 0.6).mean() > 0.3


def test_energy_correlations_match_the_real_file(songs):
    correlation = songs[["energy", "loudness", "acousticness"]].corr()
    assert correlation.loc["energy", "loudness"] > 0.5
    assert correlation.loc["energy", "acousticness"] < -0.5


def test_heavy_tails(songs):
    assert songs["duration_ms"].skew() > 3
    assert songs["duration_ms"].max() > 1_500_000
    assert songs["duration_ms"].max() <= 4_200_000
    assert songs["followers"].min() == 0
    assert songs["followers"].max() > 1e7
    assert songs["followers"].max() <= 1e8


def test_artists_have_several_songs_and_some_span_kinds(songs):
    per_artist = songs.groupby("id_artists").size()
    assert per_artist.median() >= 3
    assert per_artist.max() >= 30
    spoken = songs["speechiness"] > 0.66
    kinds = songs.assign(spoken=spoken).groupby("id_artists")["spoken"].nunique()
    assert (kinds > 1).sum() > 20
    assert songs.groupby("id_artists")["name_artists"].nunique().max() == 1


def test_dates_genres_and_names_have_the_real_variety(songs):
    dates = songs["release_date"]
    assert dates.str.fullmatch(r"\d{4}").mean() > 0.1
    assert dates.str.fullmatch(r"\d{2}-\d{2}-\d{4}").mean() > 0.5
    assert (dates.str.fullmatch(r"\d{4}") | dates.str.fullmatch(r"\d{2}-\d{2}-\d{4}")).all()
    assert (songs["genres"] == "[]").any()
    assert songs["genres"].str.contains("', '").any()
    names = " ".join(songs["name_song"]) + " " + " ".join(songs["name_artists"])
    for script, pattern in SCRIPTS.items():
        assert re.search(pattern, names), script
    assert songs["name_song"].str.contains(",").any()
    assert songs["name_song"].str.contains('"').any()


def test_a_few_impossible_values(songs):
    assert 1 <= (songs["tempo"] == 0).sum() <= 0.01 * len(songs)
    assert 1 <= (songs["time_signature"] == 0).sum() <= 0.01 * len(songs)
    for column in ("danceability", "energy", "speechiness", "acousticness", "instrumentalness", "liveness", "valence"):
        assert songs[column].between(0, 1).all(), column


def test_same_song_under_several_ids_now_and_then(songs):
    repeated = songs.duplicated(["name_song", "name_artists"]).mean()
    assert 0.005 < repeated < 0.06


def test_no_real_row_or_name_is_copied(demo, sample_csv):
    with sample_csv.open(newline="", encoding="utf-8") as handle:
        real = pd.DataFrame(list(csv.DictReader(handle)))
    for column in ("id_songs", "id_artists", "name_song", "name_artists"):
        assert not set(demo[column]) & set(real[column]), column


def test_96k_rows_generate_at_full_size(generator):
    songs = generator.generate(96_000)
    assert len(songs) == 96_000
    assert songs["id_songs"].is_unique
