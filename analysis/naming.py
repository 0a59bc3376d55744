"""Suggested cluster names from z-score profiles.

A rule names a recognisable kind of music ("Spoken Word", "Chill Acoustic", ...) and the z-score
conditions a cluster centroid must meet. Each cluster takes the best-scoring rule nobody else took;
a cluster that no rule fits (or that lost its rule to a better fit) is described by its most
distinguishing features ("Fast & Loud"). Names are unique within a run and the same input always
gives the same names.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.result import SuggestedName

SPECIFICITY_BONUS = 0.25


@dataclass(frozen=True)
class NamingRule:
    name: str
    conditions: tuple[tuple[str, int], ...]  # (feature, +1 for high / -1 for low)
    threshold: float  # every condition's signed z must reach this

    def score(self, z: dict[str, float]) -> float | None:
        """Mean signed z over the conditions plus a bonus per extra condition (a rule that says more
        wins a near tie), or None when the rule does not fit this profile."""
        if any(feature not in z for feature, _ in self.conditions):
            return None
        signed = [sign * z[feature] for feature, sign in self.conditions]
        if min(signed) < self.threshold:
            return None
        return sum(signed) / len(signed) + SPECIFICITY_BONUS * (len(signed) - 1)


RULES: tuple[NamingRule, ...] = (
    NamingRule("Spoken Word", (("speechiness", 1),), 1.0),
    NamingRule("Instrumental", (("instrumentalness", 1),), 1.0),
    NamingRule("Live Recordings", (("liveness", 1),), 1.0),
    NamingRule("Party Tracks", (("danceability", 1), ("energy", 1), ("valence", 1)), 0.4),
    NamingRule("Chill Acoustic", (("acousticness", 1), ("energy", -1)), 0.5),
    NamingRule("Melancholy", (("valence", -1), ("energy", -1)), 0.5),
    NamingRule("Loud & Intense", (("loudness", 1), ("energy", 1)), 0.5),
    NamingRule("High Energy", (("energy", 1), ("acousticness", -1)), 0.3),
    NamingRule("Upbeat Dance", (("danceability", 1), ("valence", 1)), 0.5),
    NamingRule("Long Tracks", (("duration_ms", 1),), 1.0),
    NamingRule("Popular Hits", (("popularity_songs", 1),), 0.8),
    NamingRule("Star Artists", (("followers", 1),), 1.0),
    NamingRule("Niche Artists", (("popularity_artists", -1),), 0.8),
    NamingRule("Fast Tempo", (("tempo", 1),), 1.0),
    NamingRule("Slow & Quiet", (("tempo", -1), ("loudness", -1)), 0.5),
    NamingRule("Deep Cuts", (("popularity_songs", -1),), 0.8),
)

# Words for a feature far above / below the mean, for clusters no rule names.
DESCRIPTORS: dict[str, tuple[str, str]] = {
    "danceability": ("Danceable", "Undanceable"),
    "energy": ("Energetic", "Calm"),
    "loudness": ("Loud", "Quiet"),
    "speechiness": ("Wordy", "Speech-Free"),
    "acousticness": ("Acoustic", "Electric"),
    "instrumentalness": ("Instrumental", "Vocal"),
    "liveness": ("Live", "Studio"),
    "valence": ("Cheerful", "Sombre"),
    "tempo": ("Fast", "Slow"),
    "duration_ms": ("Long", "Short"),
    "popularity_songs": ("Popular", "Obscure"),
    "followers": ("Well-Followed", "Little-Followed"),
    "popularity_artists": ("Famous-Artist", "Lesser-Known"),
}
# Below this largest |z| a cluster is simply the middle of the data.
AVERAGE_PROFILE = 0.3
ROMAN_DIGITS = ((50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))


def suggest_names(zscores: pd.DataFrame) -> tuple[SuggestedName, ...]:
    """One unique name with its reason per row of ``zscores`` (clusters x features), in row order."""
    profiles = [dict(zip(map(str, zscores.columns), map(float, row))) for row in zscores.to_numpy()]
    chosen = _assign_rules(profiles)
    taken: set[str] = {rule.name.casefold() for rule in chosen.values()}
    names = []
    for row, z in enumerate(profiles):
        if row in chosen:
            rule = chosen[row]
            names.append(SuggestedName(rule.name, _reason(z, [f for f, _ in rule.conditions])))
            continue
        name, features = _descriptor(z, taken)
        taken.add(name.casefold())
        names.append(SuggestedName(name, _reason(z, features)))
    return tuple(names)


def _assign_rules(profiles: list[dict[str, float]]) -> dict[int, NamingRule]:
    """Give each rule to at most one cluster, best score first (ties: earlier cluster, earlier rule)."""
    candidates = [
        (-score, row, rule_index)
        for row, z in enumerate(profiles)
        for rule_index, rule in enumerate(RULES)
        if (score := rule.score(z)) is not None
    ]
    chosen: dict[int, NamingRule] = {}
    used_rules: set[int] = set()
    for _, row, rule_index in sorted(candidates):
        if row not in chosen and rule_index not in used_rules:
            chosen[row] = RULES[rule_index]
            used_rules.add(rule_index)
    return chosen


def _descriptor(z: dict[str, float], taken: set[str]) -> tuple[str, list[str]]:
    """A name from the strongest features: two words, then three, then a numbered copy."""
    ranked = _ranked_features(z)
    if not ranked or abs(z[ranked[0]]) < AVERAGE_PROFILE:
        base, features = "Middle of the Road", ranked[:2]
    else:
        for count in (2, 3):
            features = ranked[:count]
            base = " & ".join(_word(feature, z[feature]) for feature in features)
            if base.casefold() not in taken:
                return base, features
    return _numbered(base, taken), features


def _ranked_features(z: dict[str, float]) -> list[str]:
    return sorted(z, key=lambda feature: -abs(z[feature]))


def _word(feature: str, value: float) -> str:
    high, low = DESCRIPTORS.get(feature, (f"High {feature}", f"Low {feature}"))
    return high if value >= 0 else low


def _numbered(base: str, taken: set[str]) -> str:
    """``base``, else "base II", "base III", ... whichever is free first."""
    candidate, number = base, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{base} {_roman(number)}"
    return candidate


def _roman(number: int) -> str:
    digits = []
    for value, digit in ROMAN_DIGITS:
        count, number = divmod(number, value)
        digits.append(digit * count)
    return "".join(digits)


def _reason(z: dict[str, float], features: list[str]) -> str:
    return ", ".join(f"{feature} {z[feature]:+.1f}σ" for feature in features)
