"""Stall handling of the band optimiser (issue 15): detect a stalled band, switch once."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from monty.json import MontyDecoder, jsanitize

from ionflow.core.errors import IonflowInputError
from ionflow.core.neb.band import StallDetector, run_neb_band
from ionflow.core.neb.checkpoint import BandCheckpoint, CheckpointWriter
from ionflow.core.neb.settings import NebSettings
from ionflow.mlip.calculator import CalculatorEvaluator
from ionflow.mlip.spec import ModelSpec


class CurvedDoubleHump(Calculator):
    """One atom in a stiff curved valley over two equal humps (x = a/4, 3a/4), barrier 0.5 eV.

    ``E = eb sin²(qx) + ks/2 (y - c sin(qx))² + kz/2 z²`` with ``q = 2π/a``. The climbing image
    hesitates between the two equal saddles and the valley is stiff across and soft along:
    ODE12r crawls here for hundreds of steps (a stall), FIRE does not.
    """

    implemented_properties = ("energy", "forces")

    def __init__(self, eb=0.5, c=0.8, ks=50.0, kz=1.0, a=3.0):
        super().__init__()
        self.eb, self.c, self.ks, self.kz, self.q = eb, c, ks, kz, 2 * np.pi / a

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        x, y, z = self.atoms.positions[0]
        s, co = np.sin(self.q * x), np.cos(self.q * x)
        u = y - self.c * s
        energy = self.eb * s * s + 0.5 * self.ks * u * u + 0.5 * self.kz * z * z
        dedx = 2 * self.eb * s * co * self.q - self.ks * u * self.c * self.q * co
        self.results = {"energy": energy, "forces": np.array([[-dedx, -self.ks * u, -self.kz * z]])}


@pytest.fixture
def toy_evaluator():
    spec = ModelSpec(name="calculator", module="test_stall", callable="CurvedDoubleHump")
    return CalculatorEvaluator(spec, CurvedDoubleHump())


def _band(n=8, y0=0.3, z0=0.1):
    return [
        Atoms(
            "H",
            positions=[[3.0 * s, y0 * np.sin(np.pi * s), z0 * np.sin(3 * np.pi * s)]],
            cell=[20, 20, 20],
            pbc=False,
        )
        for s in np.linspace(0, 1, n)
    ]


def _settings(**kw):
    return NebSettings(**{"fmax": 0.01, "max_steps": 800, **kw})


# ----------------------------------------------------------------------------- detector
def test_detector_flags_a_flat_residual_only_after_the_window():
    det = StallDetector(window=5, improvement=0.1, fmax=0.05)
    flags = [det.update(0.3) for _ in range(7)]
    assert flags == [False] * 5 + [True, True]


def test_detector_keeps_a_falling_or_converged_band():
    det = StallDetector(window=5, improvement=0.1, fmax=0.05)
    assert not any(det.update(1.0 * 0.95**k) for k in range(100))  # 23 % per 5 steps
    det = StallDetector(window=5, improvement=0.1, fmax=0.05)
    assert not any(det.update(0.04) for _ in range(20))  # at fmax: converged, not stalled
    det = StallDetector(window=0, improvement=0.1, fmax=0.05)
    assert not any(det.update(0.3) for _ in range(20))  # window 0: off


def test_detector_uses_the_best_residual_not_the_last():
    """A residual that oscillates without reaching a new best is stalled."""
    det = StallDetector(window=4, improvement=0.1, fmax=0.01)
    history = [0.5, 0.1, 0.3, 0.2, 0.3, 0.25, 0.2]
    flags = [det.update(r) for r in history]
    assert flags[-1]
    assert not any(flags[:5])


# ----------------------------------------------------------------------------- settings
@pytest.mark.parametrize(
    ("knob", "bad"),
    [
        ("stall_window", -1),
        ("stall_window", 2.5),
        ("stall_window", True),
        ("stall_improvement", 0.0),
        ("stall_improvement", 1.0),
        ("stall_fallback", "sgd"),
    ],
)
def test_bad_stall_settings_are_refused(knob, bad):
    with pytest.raises(IonflowInputError, match=knob):
        NebSettings(**{knob: bad})


def test_stall_settings_round_trip_and_defaults():
    s = NebSettings(stall_window=25, stall_improvement=0.2, stall_fallback="restart")
    assert MontyDecoder().process_decoded(jsanitize(s, strict=True)) == s
    default = NebSettings()
    assert default.stall_window > 0
    assert default.stall_fallback == "fire"


# ----------------------------------------------------------------------------- the band
def test_a_stalled_ode_band_switches_to_fire_and_saves_force_calls(toy_evaluator, caplog):
    without = run_neb_band(_band(), toy_evaluator, _settings(stall_window=0))
    with caplog.at_level(logging.WARNING, logger="ionflow.core.neb.progress"):
        handled = run_neb_band(_band(), toy_evaluator, _settings())
    assert without.optimizer_switches == []
    (switch,) = handled.optimizer_switches
    assert switch["from"] == "ode"
    assert switch["to"] == "fire"
    assert switch["residual"] > 0.01
    assert 0 < switch["step"] < handled.n_steps
    assert 0 < switch["band_force_calls"] < handled.band_force_calls
    assert any(
        "stalled at step" in r.message and "ode -> fire" in r.message for r in caplog.records
    )
    assert handled.converged, handled.failure_reason
    assert handled.force_calls < without.force_calls
    # same band, same barrier (both converged to fmax 0.01 eV/Å)
    assert handled.barrier_forward == pytest.approx(without.barrier_forward, abs=2e-3)
    assert handled.summary()["optimizer_switches"] == handled.optimizer_switches


def test_fallback_none_only_records_the_stall(toy_evaluator):
    quiet = run_neb_band(_band(), toy_evaluator, _settings(stall_window=0, max_steps=150))
    noted = run_neb_band(
        _band(), toy_evaluator, _settings(stall_window=20, stall_fallback="none", max_steps=150)
    )
    (switch,) = noted.optimizer_switches
    assert switch["to"] is None
    assert noted.force_calls == quiet.force_calls  # the same optimiser went on untouched
    assert noted.n_steps == quiet.n_steps


def test_restart_fallback_restarts_the_same_optimizer(toy_evaluator):
    settings = _settings(stall_window=20, stall_fallback="restart", max_steps=200)
    res = run_neb_band(_band(), toy_evaluator, settings)
    assert res.optimizer_switches
    assert res.optimizer_switches[0]["from"] == res.optimizer_switches[0]["to"] == "ode"
    assert len(res.optimizer_switches) == 1  # once per band


def test_a_fallback_that_does_no_better_hands_back_to_the_first_optimizer(toy_evaluator):
    """FIRE gets ``stall_window`` steps to beat ODE12r's best residual by 10 %, or ODE12r goes on.

    With a 20-step window FIRE has not got there on the toy by step 123 (it needs ~40 steps
    to build up speed): the band goes back to ODE12r, once, and still converges.
    """
    res = run_neb_band(_band(), toy_evaluator, _settings(stall_window=20))
    first, back = res.optimizer_switches
    assert (first["from"], first["to"]) == ("ode", "fire")
    assert (back["from"], back["to"]) == ("fire", "ode")
    assert back["step"] == first["step"] + 20
    assert back["band_force_calls"] > first["band_force_calls"]
    assert res.converged, res.failure_reason
    assert res.barrier_forward == pytest.approx(0.5, abs=5e-3)


def test_a_continued_band_keeps_its_fallback(toy_evaluator, tmp_path, caplog):
    """A checkpoint written after the switch carries it: the band goes on with FIRE."""
    images = _band()
    n = len(images)
    state = BandCheckpoint(
        fingerprint="toy",
        end_positions=np.array([images[0].positions, images[-1].positions]),
        end_energies=np.zeros(2),
        end_forces=np.zeros((2, 1, 3)),
        endpoint_force_calls=0,
        endpoints_converged=True,
        band_positions=np.array([im.positions for im in images]),
    )
    path = tmp_path / "band.npz"
    writer = CheckpointWriter(path, state, every=1000)
    # stopped within FIRE's trial window (switch at step 103, judged at 123)
    settings = _settings(stall_window=20, max_steps=120)
    first = run_neb_band(images, toy_evaluator, settings, checkpoint=writer)
    assert [s["to"] for s in first.optimizer_switches] == ["fire"]
    assert not first.converged
    saved = BandCheckpoint.load(path)
    assert saved.optimizer_switches == first.optimizer_switches
    assert saved.n_steps == first.n_steps

    band = [im.copy() for im in images]
    for im, pos in zip(band, saved.band_positions, strict=True):
        im.positions = pos
    again = CheckpointWriter(path, saved, every=1000)
    with caplog.at_level(logging.INFO, logger="ionflow.core.neb.progress"):
        second = run_neb_band(band, toy_evaluator, _settings(stall_window=20), checkpoint=again)
    assert any("optimizer fire" in r.message for r in caplog.records)
    assert second.optimizer_switches == first.optimizer_switches  # no second switch
    assert second.converged
    assert second.n_steps > first.n_steps
    assert n == len(second.energies)


def test_a_band_through_a_basin_below_its_endpoints_is_not_switched(toy_evaluator, caplog):
    """Endpoints lifted 0.5 eV out of the valley: the band sinks into a basin below both.

    The hop is not elementary and no optimiser switch repairs that (on Li3N's 1b self-hop
    FIRE slid the band 1.4 eV into its basin and never converged): the stall is noted with
    the depth and the band goes on exactly as without stall handling.
    """
    band = _band()
    for end in (band[0], band[-1]):
        end.positions[0, 1] += 0.15  # 0.5 * ks * 0.15² ≈ 0.56 eV above the valley floor
    plain = run_neb_band(
        [im.copy() for im in band], toy_evaluator, _settings(stall_window=0, max_steps=150)
    )
    with caplog.at_level(logging.WARNING, logger="ionflow.core.neb.progress"):
        noted = run_neb_band(
            [im.copy() for im in band], toy_evaluator, _settings(stall_window=20, max_steps=150)
        )
    (switch,) = noted.optimizer_switches
    assert switch["to"] is None
    assert switch["note"].startswith("intermediate minimum")
    assert float(switch["note"].split()[2]) > 0.3
    assert any("not elementary" in r.message for r in caplog.records)
    assert noted.force_calls == plain.force_calls
    assert noted.n_steps == plain.n_steps
    assert noted.intermediate_minimum > 0.3
