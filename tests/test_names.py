"""The names file shared by the dashboard and ``amc cluster --names``: writing, reading and refusing."""
from __future__ import annotations

import json

import pytest

from analysis.names import NamesFile, NamesFileError, clean_name, names_file_text, parse_names_file


def test_a_written_file_reads_back_the_same_names():
    names = {0: "Party", 1: "=HYPERLINK(\"http://x\")", 2: "<img src=x onerror=alert(1)>", 3: "Çay ☕ ชา"}
    text = names_file_text("run42", 4, names)
    assert json.loads(text) == {"run_id": "run42", "k": 4, "names": {str(c): n for c, n in names.items()}}
    assert parse_names_file(text) == NamesFile(run_id="run42", k=4, names=names)
    assert parse_names_file(text.encode("utf-8-sig")).names == names


def test_a_file_may_name_some_clusters_and_omit_the_run():
    parsed = parse_names_file('{"k": 5, "names": {"3": "  Slow   songs "}}')
    assert parsed == NamesFile(run_id=None, k=5, names={3: "Slow songs"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON: .* at line 1 column 2"),
        ("[1, 2]", "expected an object"),
        ('{"names": {}}', '"k" must be a whole number'),
        ('{"k": true, "names": {}}', '"k" must be a whole number'),
        ('{"k": 3, "names": ["a"]}', '"names" must be an object'),
        ('{"k": 3, "run_id": 7, "names": {}}', '"run_id" must be text'),
        ('{"k": 3, "names": {"3": "x"}}', "cluster '3' is not one of 0..2"),
        ('{"k": 3, "names": {"-1": "x"}}', "cluster '-1' is not one of"),
        ('{"k": 3, "names": {"01": "x"}}', "cluster '01' is not one of"),
        ('{"k": 3, "names": {"0": 5}}', "the name of cluster 0 must be text"),
        ('{"k": 3, "names": {"0": "   "}}', "cluster 0: a cluster name cannot be empty"),
        ('{"k": 3, "names": {"0": "' + "x" * 61 + '"}}', "cluster 0: a cluster name has at most 60 characters, this one has 61"),
        ('{"k": 3, "names": {"0": "Calm", "2": " calm"}}', "clusters 0 and 2 are both named 'calm'"),
    ],
)
def test_unusable_files_are_refused_in_one_line_naming_the_file(text, message):
    with pytest.raises(NamesFileError, match=f"^names.json: {message}") as caught:
        parse_names_file(text, source="names.json")
    assert "\n" not in str(caught.value)


def test_bytes_that_are_not_utf8_are_refused():
    with pytest.raises(NamesFileError, match="not UTF-8 text"):
        parse_names_file(b'{"k": 2, "names": {"0": "\xff"}}')


def test_an_oversized_file_is_refused_before_parsing():
    with pytest.raises(NamesFileError, match="too large"):
        parse_names_file('{"k": 2, "names": {}, "pad": "' + "x" * 300_000 + '"}')


@pytest.mark.parametrize("hidden", ["\x00", "\x1b", "\u202e", "\u2066", "\u200b", "\u200d", "\ufeff", "\x85"])
def test_names_that_hide_what_they_say_are_refused_in_one_line(hidden):
    with pytest.raises(ValueError, match=f"invisible or control character U\\+{ord(hidden):04X}"):
        clean_name(f"Party{hidden}Tracks")


def test_clean_name_trims_and_limits():
    assert clean_name("\tNight\n drive ") == "Night drive"
    assert clean_name("x" * 60) == "x" * 60
    with pytest.raises(ValueError, match="61"):
        clean_name("x" * 61)
