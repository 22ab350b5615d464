"""VacancyRelaxMaker: one fixed-cell vacancy relaxation, kept and reread from its checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

from ionflow.core.errors import IonflowInputError
from ionflow.jobs import MLIPNebMaker
from ionflow.jobs.vacancy import VacancyRelaxMaker
from ionflow.mlip import get_evaluator


def _vacancy(cu_fcc):
    s = cu_fcc.copy()
    s.make_supercell([2, 2, 2])
    s.remove_sites([0])
    return s


def test_relaxes_keeps_order_and_rereads_its_checkpoint(cu_fcc, emt_spec, tmp_path):
    structure = _vacancy(cu_fcc)
    maker = VacancyRelaxMaker(model=emt_spec, fmax=0.02, species="Cu", checkpoint_dir=tmp_path)
    doc = maker.make.original(maker, structure, vacancy={"vacancy_id": "V1", "label": "Cu1"})
    assert doc.converged
    assert doc.failure_reason is None
    assert doc.force_calls > 1
    assert doc.max_force_eV_A < 0.02
    assert doc.vacancy_id == "V1"
    assert len(doc.structure) == len(structure)
    # atom order kept: every atom stays next to where it started
    shift = np.linalg.norm(doc.structure.cart_coords - structure.cart_coords, axis=1)
    assert 0 < shift.max() < 0.3
    assert doc.max_mobile_shift_A == pytest.approx(shift.max())
    ev = get_evaluator(emt_spec)
    calls = ev.n_evaluations
    again = maker.make.original(maker, structure)
    assert ev.n_evaluations == calls  # read back, no model call
    assert again.energy_eV == pytest.approx(doc.energy_eV)
    np.testing.assert_allclose(again.structure.cart_coords, doc.structure.cart_coords)


def test_failure_is_reported_and_settings_follow_the_neb_maker(cu_fcc, emt_spec):
    bad = VacancyRelaxMaker(model={"@module": "no_such_module_xyz", "@callable": "Calc"})
    doc = bad.make.original(bad, _vacancy(cu_fcc))
    assert doc.energy_eV is None
    assert "Cannot import" in doc.failure_reason
    neb = MLIPNebMaker(
        model=emt_spec, neb_settings={"endpoint_fmax": 0.03, "endpoint_optimizer": "fire"}
    )
    derived = VacancyRelaxMaker.from_neb_maker(neb, "Cu")
    assert (derived.fmax, derived.optimizer, derived.model) == (0.03, "fire", neb.model)
    with pytest.raises(IonflowInputError):
        VacancyRelaxMaker(optimizer="ode")
