"""The conductivity report shared by the jobflow job and the ``ionflow diffusion`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ionflow.core.diffusion import KB_EV_K, conductivity_report, summarize_arrhenius
from ionflow.core.errors import IonflowInputError

T = [500.0, 600.0, 700.0, 800.0]
D = [1e-3 * np.exp(-0.3 / (KB_EV_K * t)) for t in T]
ERR = [0.1 * d for d in D]
CELL = {"n_mobile": 16, "volume_A3": 900.0}


def test_same_summary_as_summarize_arrhenius_plus_hop_warnings():
    hops = [False, True, None, False]
    reasons = ["only 3 hop events detected (need >= 20)", "ok", None, "few"]
    summary, fit = conductivity_report(
        T, D, ERR, species="Li", enough_hops=hops, hops_reasons=reasons, t_max=750, **CELL
    )
    plain, plain_fit = summarize_arrhenius(T, D, ERR, charge=1.0, t_max=750, **CELL)
    assert summary.keys() == plain.keys()
    assert {k: v for k, v in summary.items() if k != "warnings"} == {
        k: v for k, v in plain.items() if k != "warnings"
    }
    assert summary["Ea_eV"] == pytest.approx(0.3, rel=1e-9)
    assert fit.as_dict() == plain_fit.as_dict()
    assert summary["warnings"] == [
        *plain["warnings"],
        "500 K: too few hops to trust D (only 3 hop events detected (need >= 20))",
        "800 K: too few hops to trust D (few)",
    ]
    json.dumps(summary, allow_nan=False)


def test_charge_from_species_or_given():
    mg, _ = conductivity_report(T, D, ERR, species="Mg", **CELL)
    li, _ = conductivity_report(T, D, ERR, species="Li", **CELL)
    assert mg["charge"] == 2.0
    assert mg["sigma_mS_cm"] == pytest.approx(4 * li["sigma_mS_cm"])
    given, _ = conductivity_report(T, D, ERR, species="Mg", charge=1, **CELL)
    assert given["charge"] == 1.0
    assert given["sigma_mS_cm"] == li["sigma_mS_cm"]


def test_warnings_appear_once():
    temps = [600.0, 600.0, 700.0, 800.0]
    summary, fit = conductivity_report(
        temps,
        [None, None, 2e-6, 5e-6],
        None,
        species="Li",
        enough_hops=[False, False, True, True],
        hops_reasons=["short run", "short run", None, None],
        **CELL,
    )
    assert fit is not None
    assert summary["warnings"] == [
        "600 K left out of the fit: no positive diffusivity",
        "two temperatures only: Ea has no degrees of freedom left for its error",
        "600 K: too few hops to trust D (short run)",
    ]


def test_no_fit_without_usable_temperatures_and_unknown_cell():
    summary, fit = conductivity_report(
        [600.0, 800.0], [None, None], [None, None], n_mobile=None, volume_A3=None, species="Na"
    )
    assert fit is None
    assert summary["Ea_eV"] is None
    assert summary["charge"] == 1.0
    assert summary["n_mobile"] is None
    assert summary["volume_A3"] is None
    json.dumps(summary, allow_nan=False)
    assert "only 0 usable temperature(s): no Arrhenius fit" in summary["warnings"]


def test_hop_lists_must_match_the_temperatures():
    with pytest.raises(IonflowInputError, match="one entry per temperature"):
        conductivity_report(T, D, ERR, species="Li", enough_hops=[True], **CELL)
    with pytest.raises(IonflowInputError, match="one entry per temperature"):
        conductivity_report(
            T, D, ERR, species="Li", enough_hops=[True] * 4, hops_reasons=["x"], **CELL
        )
