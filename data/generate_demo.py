"""Make the bundled demo data: invented songs in the exact schema of ``single_genre_artists.csv``.

Nothing here comes from the real file: every name, id and value is drawn from a seeded generator.
What is copied is the file's shape, so the demo behaves like the real thing in every view:

* four kinds of songs: spoken word (~12%: speechiness ~0.85, lively, 'hoerspiel'), acoustic and calm
  (~31%), high energy (~48%) and instrumental (~9%: instrumentalness ~0.8), each with its own noise;
* energy rises with loudness and falls with acousticness;
* heavy tails: duration_ms is log-normal with a few tracks over an hour, followers run from 0 to ~1e8;
* artists with several songs, some of them across kinds; the same song now and then under a second id;
* release_date as a bare year (``1965``) or day-first (``28-01-2012``), as a spreadsheet leaves it;
* genres as Python-list literals, empty ``[]`` included, some with several genres;
* names in Latin (with accents), Cyrillic, Chinese, Thai and Turkish, some with commas and quotes;
* a few impossible values the loader must handle: tempo 0 and time_signature 0.

Run ``python data/generate_demo.py`` to rewrite ``data/demo_songs.csv`` (5,000 rows, CRLF).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.result import REQUIRED_COLUMNS

DEMO_ROWS = 5_000
DEMO_PATH = Path(__file__).resolve().parent / "demo_songs.csv"
BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)

KINDS = ("spoken", "acoustic", "energetic", "instrumental")
KIND_SHARES = np.array([0.12, 0.31, 0.48, 0.09])
# Per kind: mean and spread of each probability-like feature.
PROFILES = {
    "danceability": ((0.62, 0.10), (0.45, 0.14), (0.63, 0.13), (0.38, 0.15)),
    "energy": ((0.36, 0.14), (0.27, 0.11), (0.72, 0.13), (0.42, 0.22)),
    "speechiness": ((0.85, 0.07), (0.045, 0.02), (0.07, 0.05), (0.04, 0.015)),
    "acousticness": ((0.72, 0.18), (0.80, 0.12), (0.16, 0.14), (0.55, 0.28)),
    "instrumentalness": ((0.0, 0.0), (0.02, 0.05), (0.01, 0.03), (0.82, 0.09)),
    "liveness": ((0.50, 0.20), (0.15, 0.08), (0.19, 0.13), (0.13, 0.07)),
    "valence": ((0.52, 0.18), (0.40, 0.18), (0.66, 0.19), (0.28, 0.17)),
}
TEMPO = ((98.0, 22.0), (106.0, 26.0), (124.0, 24.0), (112.0, 30.0))
EXPLICIT_SHARE = (0.03, 0.01, 0.08, 0.0)
GENRES = (
    ("hoerspiel", "kleine hoerspiel", "audiobook", "radio drama", "comedy", "poetry", "spoken word"),
    ("chanson", "fado", "bossa nova", "acoustic folk", "russian romance", "mandopop ballad", "turkish folk", "luk thung"),
    ("dance pop", "rock", "latin", "latin pop", "reggaeton", "turkish pop", "russian pop", "thai pop", "edm", "funk"),
    ("ambient", "classical piano", "sleep", "lo-fi beats", "soundtrack", "white noise", "meditation"),
)
# Invented words per script; names are built from them, never taken from real songs.
WORDS = {
    "latin": ("Corazón", "Lumière", "Mañana", "Été", "Sonho", "Noite", "Rêve", "Sol", "Mar", "Éternel", "Brisa", "Canção",
              "Ventana", "Señal", "Lueur", "Aurora", "Ciel", "Vagabond", "Niña", "Saudade"),
    "english": ("Midnight", "River", "Golden", "Echo", "Paper", "Neon", "Velvet", "Summer", "Static", "Harbor", "Lantern",
                "Wildfire", "Orbit", "Hollow", "Marble", "Satellite", "Ember", "Tides", "Glass", "Parade"),
    "cyrillic": ("Ночь", "Ветер", "Звезда", "Дорога", "Лето", "Море", "Сердце", "Город", "Рассвет", "Тишина", "Огонь",
                 "Весна", "Облако", "Река", "Песня", "Зима"),
    "chinese": ("月光", "夜空", "心", "海", "风", "城市", "梦", "花", "雨", "远方", "星河", "故乡", "晚安", "青春"),
    "thai": ("ฝน", "ทะเล", "ดาว", "คืน", "หัวใจ", "ลม", "เพลง", "ฟ้า", "รัก", "เมือง", "ดอกไม้", "ความฝัน"),
    "turkish": ("Gönül", "Yağmur", "Şarkı", "Gece", "Deniz", "Işık", "Çiçek", "Yıldız", "Rüzgâr", "Sevgi", "Güneş", "Hüzün"),
}
# Invented syllables per script for artist names: enough combinations that artists rarely share a name.
SYLLABLES = {
    "latin": ("ma", "ri", "lu", "so", "ca", "ne", "to", "vi", "al", "en", "jo", "sé", "ña", "ré", "ló", "quí", "ão",
              "ber", "nan", "dez", "ta", "mi", "ra", "go", "fé", "lia"),
    "english": ("ka", "lo", "ben", "ny", "ter", "son", "mar", "ley", "jo", "dan", "ri", "wes", "ton", "fi", "el", "la",
                "bry", "ce", "hol", "den", "quin", "ra"),
    "cyrillic": ("ва", "ле", "ри", "на", "ко", "ми", "ша", "то", "ев", "ан", "дре", "ль", "ов", "ка", "си", "ма", "ро",
                 "жа", "ю", "лий"),
    "chinese": tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红玲芬燕彬林晨雨欣宇浩然子轩思梦嘉怡佳琪俊辰"),
    "thai": ("สม", "ชาย", "ใจ", "ดี", "ศรี", "สุข", "วัน", "ทอง", "แก้ว", "มณี", "รัตน์", "พร", "นภา", "กมล", "วิ", "ชัย",
             "ประ", "เสริฐ", "จันทร์", "เพ็ญ"),
    "turkish": ("ay", "şe", "gül", "can", "öz", "tür", "kı", "lıç", "er", "dem", "yıl", "maz", "çe", "lik", "ba", "ran",
                "ğa", "su", "se", "ven"),
}
SCRIPTS = tuple(WORDS)
SCRIPT_SHARES = np.array([0.24, 0.30, 0.14, 0.10, 0.10, 0.12])
SPOKEN_TITLES = ("Folge", "Kapitel", "Teil", "Episode")
SPANNING_SHARE = 0.15  # songs outside their artist's usual kind
REPEATED_SONG_SHARE = 0.015  # the same song (name + artist) again under a new id
SONGS_PER_ARTIST = 8


def generate(n_rows: int, seed: int = 7) -> pd.DataFrame:
    """``n_rows`` invented songs in the real file's 23 columns and order; the same seed gives the same frame."""
    if n_rows < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows}")
    rng = np.random.default_rng(seed)
    artists = _artists(rng, max(1, n_rows // SONGS_PER_ARTIST))
    kind = rng.choice(len(KINDS), size=n_rows, p=KIND_SHARES)
    artist = _artist_of_songs(rng, kind, artists["kind"], artists["weight"])
    source = _repeated_songs(rng, n_rows)
    artist[source >= 0] = artist[source[source >= 0]]

    features = _features(rng, kind)
    song_names = _song_names(rng, kind, artists["script"][artist])
    song_names[source >= 0] = song_names[source[source >= 0]]
    _add_impossible_values(rng, features)

    frame = pd.DataFrame(
        {
            "id_songs": _ids(rng, n_rows),
            "name_song": song_names,
            "popularity_songs": np.clip(
                np.rint(0.6 * artists["popularity"][artist] + rng.normal(8, 12, n_rows)), 0, 100
            ).astype(np.int64),
            "duration_ms": _durations(rng, kind),
            "explicit": (rng.random(n_rows) < np.take(EXPLICIT_SHARE, kind)).astype(np.int64),
            "id_artists": artists["id"][artist],
            "release_date": _release_dates(rng, artists["debut"][artist]),
            **features,
            "followers": artists["followers"][artist],
            "genres": artists["genres"][artist],
            "name_artists": artists["name"][artist],
            "popularity_artists": artists["popularity"][artist],
        }
    )
    return frame[list(REQUIRED_COLUMNS)]


def save(frame: pd.DataFrame, path: Path) -> None:
    """Write like the real file: CRLF lines, and tiny numbers in spreadsheet notation (``1.55E-05``)."""
    text = frame.copy()
    for column in frame.select_dtypes("float").columns:
        text[column] = [_spreadsheet_number(value) for value in frame[column]]
    text.to_csv(path, index=False, lineterminator="\r\n", encoding="utf-8")


def main() -> int:
    save(generate(DEMO_ROWS), DEMO_PATH)
    print(f"wrote {DEMO_ROWS:,} songs to {DEMO_PATH}")
    return 0


def _artists(rng: np.random.Generator, n_artists: int) -> dict[str, np.ndarray]:
    kind = rng.choice(len(KINDS), size=n_artists, p=KIND_SHARES)
    script = rng.choice(len(SCRIPTS), size=n_artists, p=SCRIPT_SHARES)
    followers = np.clip(rng.lognormal(np.log(20_000), 2.6, n_artists), 0, 1e8).astype(np.int64)
    followers[rng.random(n_artists) < 0.02] = 0
    popularity = np.clip(np.rint(9 * np.log10(followers + 1) + rng.normal(0, 8, n_artists)), 0, 100).astype(np.int64)
    return {
        "kind": kind,
        "script": script,
        "id": _ids(rng, n_artists),
        "name": _artist_names(rng, script),
        "followers": followers,
        "popularity": popularity,
        "genres": _genre_literals(rng, kind),
        "debut": np.where(kind == 0, rng.integers(1955, 2019, n_artists), rng.integers(1925, 2020, n_artists)),
        # a few artists have many songs (capped: a long series, not a tenth of the file), most a handful
        "weight": np.minimum(rng.pareto(1.5, n_artists), 40) + 0.2,
    }


def _artist_of_songs(rng: np.random.Generator, kind: np.ndarray, artist_kind: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Mostly an artist of the song's kind; SPANNING_SHARE of songs by any artist, so artists span kinds."""
    artist = rng.choice(len(artist_kind), size=len(kind), p=weight / weight.sum())
    for k in range(len(KINDS)):
        own = np.flatnonzero(artist_kind == k)
        songs = np.flatnonzero((kind == k) & (rng.random(len(kind)) >= SPANNING_SHARE))
        if own.size and songs.size:
            artist[songs] = rng.choice(own, size=songs.size, p=weight[own] / weight[own].sum())
    return artist


def _repeated_songs(rng: np.random.Generator, n_rows: int) -> np.ndarray:
    """For each row, the earlier row whose song it repeats, or -1."""
    source = np.full(n_rows, -1)
    repeats = np.flatnonzero(rng.random(n_rows) < REPEATED_SONG_SHARE)
    repeats = repeats[repeats > 0]
    source[repeats] = rng.integers(0, repeats)
    return source


def _features(rng: np.random.Generator, kind: np.ndarray) -> dict[str, np.ndarray]:
    n = len(kind)
    values = {}
    for name, by_kind in PROFILES.items():
        mean, spread = (np.take([p[i] for p in by_kind], kind) for i in (0, 1))
        values[name] = mean + spread * rng.standard_normal(n)
    energy_mean = np.take([p[0] for p in PROFILES["energy"]], kind)
    # Within a kind too, more energy means less acoustic sound and louder masters.
    values["acousticness"] -= 0.35 * (values["energy"] - energy_mean)
    # Audio analyses rarely say exactly 0: the floor is a tiny value such as 3.2E-06.
    values = {name: np.where(v <= 0, 10 ** rng.uniform(-6, -3, n), np.minimum(v, 1.0)) for name, v in values.items()}
    values["instrumentalness"] = _instrumentalness(rng, kind, values["instrumentalness"])
    loudness = np.clip(-24 + 19 * values["energy"] + rng.normal(0, 4.2, n), -60, -0.5)
    tempo_mean, tempo_spread = (np.take([t[i] for t in TEMPO], kind) for i in (0, 1))
    tempo = np.clip(tempo_mean + tempo_spread * rng.standard_normal(n), 40, 220)
    return {
        "danceability": _significant(values["danceability"]),
        "energy": _significant(values["energy"]),
        "key": rng.integers(0, 12, n),
        "loudness": np.round(loudness, 3),
        "mode": (rng.random(n) < 0.66).astype(np.int64),
        "speechiness": _significant(values["speechiness"]),
        "acousticness": _significant(values["acousticness"]),
        "instrumentalness": values["instrumentalness"],
        "liveness": _significant(values["liveness"]),
        "valence": _significant(values["valence"]),
        "tempo": np.round(tempo, 3),
        "time_signature": rng.choice([4, 3, 5, 1], size=n, p=[0.86, 0.10, 0.03, 0.01]),
    }


def _instrumentalness(rng: np.random.Generator, kind: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """Outside instrumental music: mostly exactly 0, else tiny values such as 1.55E-05, as in real audio analyses."""
    tiny = 10 ** rng.uniform(-6, -2, len(kind))
    singing = np.where(rng.random(len(kind)) < 0.55, 0.0, np.where(rng.random(len(kind)) < 0.8, tiny, drawn))
    return _significant(np.where(kind == KINDS.index("instrumental"), drawn, singing))


def _add_impossible_values(rng: np.random.Generator, features: dict[str, np.ndarray]) -> None:
    n = len(features["tempo"])
    features["tempo"][rng.choice(n, size=min(n, max(3, n // 1000)), replace=False)] = 0.0
    features["time_signature"][rng.choice(n, size=min(n, max(2, n // 2000)), replace=False)] = 0


def _durations(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    n = len(kind)
    typical = rng.lognormal(np.log(np.where(kind == 0, 170_000, 215_000)), 0.38)
    very_long = rng.lognormal(np.log(900_000), 0.7, n)  # full audio books, sleep loops, live sets
    duration = np.where(rng.random(n) < 0.006, very_long, typical)
    return np.clip(np.rint(duration), 20_000, 4_200_000).astype(np.int64)


def _release_dates(rng: np.random.Generator, debut: np.ndarray) -> np.ndarray:
    year = np.minimum(debut + rng.geometric(0.15, len(debut)) - 1, 2021)
    # Older releases usually carry only a year; newer ones a full day-first date.
    year_only = rng.random(len(year)) < np.where(year < 1975, 0.7, 0.12)
    day = pd.Series(rng.integers(1, 29, len(year))).astype("str").str.zfill(2)
    month = pd.Series(rng.integers(1, 13, len(year))).astype("str").str.zfill(2)
    years = pd.Series(year).astype("str")
    return np.where(year_only, years, day + "-" + month + "-" + years).astype(object)


def _genre_literals(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    literals = np.empty(len(kind), dtype=object)
    counts = rng.choice([0, 1, 2, 3], size=len(kind), p=[0.08, 0.7, 0.16, 0.06])
    for k, pool in enumerate(GENRES):
        rows = np.flatnonzero(kind == k)
        # a random order of the pool per artist; its first `count` genres are the artist's
        picks = np.argsort(rng.random((rows.size, len(pool))), axis=1)
        literals[rows] = [repr([pool[j] for j in sorted(p[:c])]) for p, c in zip(picks, counts[rows])]
    return literals


def _artist_names(rng: np.random.Generator, script: np.ndarray) -> np.ndarray:
    """Invented person or band names: two syllable-built words (Chinese: one word of 2-4 characters)."""
    chinese = script == SCRIPTS.index("chinese")
    names = _word(rng, script, SYLLABLES, rng.integers(2, 4, len(script)))
    surname = _word(rng, script, SYLLABLES, rng.integers(2, 4, len(script)))
    names[~chinese] = names[~chinese] + " " + surname[~chinese]
    names[chinese] = names[chinese] + _word(rng, script, SYLLABLES, rng.integers(0, 2, len(script)))[chinese]
    english = script == SCRIPTS.index("english")
    the_band = english & (rng.random(len(script)) < 0.2)
    names[the_band] = "The " + surname[the_band] + "s"
    return names


def _word(rng: np.random.Generator, script: np.ndarray, pieces: dict[str, tuple[str, ...]], length: np.ndarray) -> np.ndarray:
    """One capitalised word per row, ``length`` pieces long, from the pieces of the row's script."""
    sizes = np.array([len(pieces[s]) for s in SCRIPTS])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    table = np.array([piece for s in SCRIPTS for piece in pieces[s]], dtype=object)
    word = np.full(len(script), "", dtype=object)
    for position in range(int(length.max(initial=0))):
        piece = table[offsets[script] + rng.integers(0, sizes[script])]
        word = np.where(length > position, word + piece, word)
    return pd.Series(word, dtype="str").str.capitalize().to_numpy(dtype=object)


def _song_names(rng: np.random.Generator, kind: np.ndarray, script: np.ndarray) -> np.ndarray:
    n = len(kind)
    script = np.where(rng.random(n) < 0.2, SCRIPTS.index("english"), script)
    names = _phrases(rng, script, rng.choice([1, 2, 3, 4], size=n, p=[0.1, 0.4, 0.35, 0.15]))
    spoken = kind == KINDS.index("spoken")
    numbers = pd.Series(rng.integers(1, 300, n)).astype("str").to_numpy(dtype=object)
    titles = np.take(SPOKEN_TITLES, rng.integers(0, len(SPOKEN_TITLES), n)).astype(object)
    names[spoken] = titles[spoken] + " " + numbers[spoken] + " - " + names[spoken]
    punctuation = rng.random(n)
    with_comma, quoted = punctuation < 0.04, (punctuation >= 0.04) & (punctuation < 0.07)
    names[with_comma] = names[with_comma] + ", " + _phrases(rng, script[with_comma], np.ones(with_comma.sum(), int))
    names[quoted] = '"' + names[quoted] + '" Live'
    return names


def _phrases(rng: np.random.Generator, script: np.ndarray, n_words: np.ndarray) -> np.ndarray:
    """Phrases of ``n_words`` words, each drawn from the word list of its row's script."""
    sizes = np.array([len(WORDS[s]) for s in SCRIPTS])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    table = np.array([word for s in SCRIPTS for word in WORDS[s]], dtype=object)
    separator = np.where(np.isin(script, [SCRIPTS.index("chinese"), SCRIPTS.index("thai")]), "", " ").astype(object)
    choice = rng.integers(0, sizes[script])
    phrase = table[offsets[script] + choice]
    for position in range(1, int(n_words.max(initial=1))):
        # a step of 1..size-1 through the list never repeats the word just used
        choice = (choice + rng.integers(1, sizes[script])) % sizes[script]
        longer = n_words > position
        phrase[longer] = phrase[longer] + separator[longer] + table[offsets[script] + choice][longer]
    return phrase


def _ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random 22-character base62 ids, shaped like Spotify's."""
    codes = BASE62[rng.integers(0, len(BASE62), size=(n, 22))]
    return np.ascontiguousarray(codes).view("S22").ravel().astype(str).astype(object)


def _significant(values: np.ndarray, digits: int = 3) -> np.ndarray:
    """Rounded to ``digits`` significant digits, like the audio features of the real file."""
    magnitude = np.floor(np.log10(np.abs(values), where=values != 0, out=np.zeros_like(values)))
    scale = 10.0 ** (digits - 1 - magnitude)
    return np.round(values * scale) / scale


def _spreadsheet_number(value: float) -> str:
    return f"{value:.2E}" if 0 < abs(value) < 1e-4 else f"{value:g}"


if __name__ == "__main__":
    raise SystemExit(main())
