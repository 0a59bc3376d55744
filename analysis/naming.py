"""Suggested cluster names from z-score profiles.

A rule names a recognisable kind of music ("Spoken Word", "Chill Acoustic", ...) by the z-score
conditions a cluster centroid must meet; its first condition is the trait the name leads with. A name
must be true to the cluster's profile, so a rule fits only a cluster whose leading trait is one of its
two strongest (largest |z|) and at least ``LEADING_Z`` from the mean. Each cluster takes the
best-scoring fitting rule nobody else took, and no two clusters take rules that lead with the same
trait. A cluster that no rule fits (or that lost its rule to a better fit) is described by its strongest
traits ("Instrumental & Calm"), so two clusters that lead with one trait say how they differ. A cluster
with no trait that strong is "Middle of the Road". Names are unique within a run and the same input
always gives the same names.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.result import SuggestedName

SPECIFICITY_BONUS = 0.25
LEADING_Z = 0.8  # a name's leading trait is at least this far from the mean, in standard deviations
DESCRIBED_Z = 0.5  # a described cluster's further words are traits at least this strong
MIDDLE = "Middle of the Road"


@dataclass(frozen=True)
class NamingRule:
    name: str
    conditions: tuple[tuple[str, int], ...]  # (feature, +1 for high / -1 for low); the first leads the name
    threshold: float  # every condition's signed z must reach this

    @property
    def lead(self) -> tuple[str, int]:
        return self.conditions[0]

    def score(self, z: dict[str, float]) -> float | None:
        """Mean signed z over the conditions plus a bonus per extra condition (a rule that says more
        wins a near tie), or None when the rule does not fit this profile."""
        if any(feature not in z for feature, _ in self.conditions):
            return None
        signed = [sign * z[feature] for feature, sign in self.conditions]
        lead_feature, lead_sign = self.lead
        if min(signed) < self.threshold or lead_sign * z[lead_feature] < LEADING_Z:
            return None
        if lead_feature not in _ranked_features(z)[:2]:
            return None  # the name would lead with a trait the cluster is not known for
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
    NamingRule("Short Tracks", (("duration_ms", -1),), 1.0),
    NamingRule("Popular Hits", (("popularity_songs", 1),), 0.8),
    NamingRule("Deep Cuts", (("popularity_songs", -1),), 0.8),
    NamingRule("Star Artists", (("followers", 1),), 1.0),
    NamingRule("Niche Artists", (("popularity_artists", -1),), 0.8),
    NamingRule("Fast Tempo", (("tempo", 1),), 1.0),
    NamingRule("Slow & Quiet", (("tempo", -1), ("loudness", -1)), 0.5),
    NamingRule("Quiet & Sparse", (("loudness", -1), ("energy", -1)), 0.5),
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
ROMAN_DIGITS = ((50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))


def suggest_names(zscores: pd.DataFrame) -> tuple[SuggestedName, ...]:
    """One unique name with its reason per row of ``zscores`` (clusters x features), in row order."""
    profiles = [dict(zip(map(str, zscores.columns), map(float, row))) for row in zscores.to_numpy()]
    chosen = _assign_rules(profiles)
    taken: set[str] = {rule.name.casefold() for rule in chosen.values()}
    leads = {rule.lead for rule in chosen.values()}
    names = []
    for row, z in enumerate(profiles):
        if row in chosen:
            rule = chosen[row]
            names.append(SuggestedName(rule.name, _reason(z, [f for f, _ in rule.conditions]), rule.conditions))
            continue
        name, features = _descriptor(z, taken, leads)
        taken.add(name.casefold())
        traits = () if name.startswith(MIDDLE) else tuple((f, _sign(z[f])) for f in features)
        leads.update(traits[:1])
        names.append(SuggestedName(name, _reason(z, features), traits))
    return tuple(names)


def _sign(value: float) -> int:
    return 1 if value >= 0 else -1


def _assign_rules(profiles: list[dict[str, float]]) -> dict[int, NamingRule]:
    """Give each rule, and each leading trait, to at most one cluster, best score first (ties: earlier
    cluster, earlier rule)."""
    candidates = [
        (-score, row, rule_index)
        for row, z in enumerate(profiles)
        for rule_index, rule in enumerate(RULES)
        if (score := rule.score(z)) is not None
    ]
    chosen: dict[int, NamingRule] = {}
    used_leads: set[tuple[str, int]] = set()
    for _, row, rule_index in sorted(candidates):
        rule = RULES[rule_index]
        if row not in chosen and rule.lead not in used_leads:
            chosen[row] = rule
            used_leads.add(rule.lead)
    return chosen


def _descriptor(z: dict[str, float], taken: set[str], leads: set[tuple[str, int]]) -> tuple[str, list[str]]:
    """A name from the strongest traits: the leading one, then as many more (of at least ``DESCRIBED_Z``,
    three words at most) as make it free; a numbered copy when even three are taken. A cluster that leads
    with a trait another name leads with says how it differs: its next trait comes too, however weak."""
    ranked = _ranked_features(z)
    if not ranked or abs(z[ranked[0]]) < LEADING_Z:
        return _numbered(MIDDLE, taken), ranked[:2]
    strong = [ranked[0]] + [feature for feature in ranked[1:3] if abs(z[feature]) >= DESCRIBED_Z]
    shared_lead = (ranked[0], _sign(z[ranked[0]])) in leads
    if shared_lead and len(strong) == 1:
        strong = ranked[:2]
    for count in range(min(2 if shared_lead else 1, len(strong)), len(strong) + 1):
        features = strong[:count]
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
