"""The C Lloyd step as installed runs on a CPU older than the one that built it.

The build is for a portable baseline with a second, AVX2 copy picked at run time (analysis/_lloyd.c).
The proof is the installed module imported and run under qemu emulating a Nehalem CPU (SSE4.2, no
AVX): a ``-march=native`` build on an AVX machine dies there with SIGILL.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OLD_CPU = "Nehalem"  # x86-64 with SSE4.2 and no AVX: what numpy needs, less than our AVX2 copy uses

# One step of the installed module against numpy's own nearest centres and sums, in the emulated process.
STEP_AGAINST_NUMPY = """
import numpy as np
from analysis import _lloyd
rng = np.random.default_rng(7)
x = rng.normal(size=(203, 5)).astype(np.float32)
centres = rng.normal(size=(11, 5)).astype(np.float32)
weights = rng.uniform(0.5, 2, size=203).astype(np.float32)
norms = np.einsum("ij,ij->i", x, x).astype(np.float32)
labels, distances = np.empty(203, np.int32), np.empty(203, np.float32)
sums, masses = np.empty((11, 5)), np.empty(11)
_lloyd.step(x, norms, weights, centres, labels, distances, sums, masses)
squared = ((x[:, None, :].astype(np.float64) - centres[None]) ** 2).sum(axis=2)
assert (labels == squared.argmin(axis=1)).all(), "labels"
assert np.allclose(distances, squared.min(axis=1), atol=1e-4), "distances"
expected = np.zeros((11, 5))
np.add.at(expected, labels, weights[:, None].astype(np.float64) * x)
assert np.allclose(sums, expected, atol=1e-4), "sums"
print("step ok")
"""


def test_the_build_asks_for_no_machine_specific_instructions():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (module,) = config["tool"]["setuptools"]["ext-modules"]
    assert not any(flag.startswith(("-march", "-mtune=native", "-mavx")) for flag in module["extra-compile-args"])


def test_the_installed_step_runs_on_a_cpu_without_avx():
    finished = subprocess.run([*on_an_older_cpu(), "-c", STEP_AGAINST_NUMPY],
                              capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert finished.returncode == 0, f"exit {finished.returncode}: {finished.stderr[-2000:]}"
    assert finished.stdout.strip() == "step ok"


def on_an_older_cpu() -> list[str]:
    """This interpreter run as on an x86-64 CPU without AVX (qemu's Nehalem). Elsewhere the build has only its
    baseline copy, and the step is checked as it runs here."""
    if os.uname().machine != "x86_64":
        return [sys.executable]
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        message = "qemu-x86_64 is missing: `make test` installs the Debian package qemu-user"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    return [qemu, "-cpu", OLD_CPU, sys.executable]
