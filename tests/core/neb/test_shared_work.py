"""One relaxation per distinct vacancy, mapped by symmetry; one band per physical path."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import build_vacancy_endpoints, enumerate_hops
from ionflow.core.neb import relax_fixed_cell, run_neb
from ionflow.core.neb.result import RelaxResult
from ionflow.core.screen import map_vacancy, plan_screen
from ionflow.core.screen.plan import HopEnds
from ionflow.mlip import get_evaluator


@pytest.fixture
def cu3al_tetragonal() -> Structure:
    """Cu3Al L1_2 stretched along c (P4/mmm): two Cu sites, 1c and 2e."""
    return Structure(
        Lattice.tetragonal(3.6, 3.8),
        ["Al", "Cu", "Cu", "Cu"],
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )


def _hop_ends(structure, species, min_length):
    out = []
    for hop in enumerate_hops(structure, species):
        ends = build_vacancy_endpoints(structure, hop, min_length=min_length)
        out.append(
            HopEnds(
                hop.hop_id,
                ends.initial,
                ends.final,
                ends.moving_index,
                f"{hop.initial.label} ({hop.initial.wyckoff})",
                f"{hop.final.label} ({hop.final.wyckoff})",
                hop.start_frac,
                hop.end_frac,
            )
        )
    return out


def _atoms(structure):
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.positions = np.array(structure.cart_coords)
    return atoms


def test_plan_groups_reverse_hops_and_distinct_vacancies(cu3al_tetragonal):
    hops = _hop_ends(cu3al_tetragonal, "Cu", 7.0)
    assert len(hops) == 4
    plan = plan_screen(hops)
    # two Cu site types: two distinct vacancies cover all 8 endpoints
    assert [v.label for v in plan.vacancies] == ["Cu1 (1c)", "Cu2 (2e)"]
    assert sum(len(v.endpoints) for v in plan.vacancies) == 8
    # Cu1->Cu2 and Cu2->Cu1 are one path: 3 bands for 4 hops
    members = {hop_id: (b.band_id, rev) for b in plan.bands for hop_id, rev in b.members}
    assert len(plan.bands) == 3
    assert members["Cu1(1c)->Cu2(2e)"][0] == members["Cu2(2e)->Cu1(1c)"][0]
    assert members["Cu2(2e)->Cu1(1c)"][1] is True
    assert members["Cu1(1c)->Cu1(1c)"][0] != members["Cu2(2e)->Cu2(2e)"][0]
    for hop in hops:  # every endpoint's vacancy is the vacant site of its own type
        for which, label in (("initial", hop.final_label), ("final", hop.initial_label)):
            assert plan.vacancy_of((hop.hop_id, which)).label == label


def test_li2mno3_nine_hops_are_six_bands_and_three_vacancies(li2mno3):
    plan = plan_screen(_hop_ends(li2mno3, "Li", 10.0))
    assert len(plan.vacancies) == 3
    assert len(plan.bands) == 6
    reversed_hops = [h for b in plan.bands for h, rev in b.members if rev]
    assert len(reversed_hops) == 3


def test_paths_by_the_parent_symmetry_on_a_non_diagonal_supercell(li2mno3):
    from ionflow.jobs.hops import HopEnumerationMaker

    maker = HopEnumerationMaker(species="Li", supercell_rule="width", supercell_min_length=8.0)
    doc = maker.make.original(maker, li2mno3)
    hops = [
        HopEnds(
            h.hop_id,
            h.initial_structure,
            h.final_structure,
            h.moving_index,
            h.initial_label,
            h.final_label,
            h.hop["start_frac"],
            h.hop["end_frac"],
        )
        for h in doc.hops
    ]
    in_supercell = plan_screen(hops)
    by_parent = plan_screen(hops, parent=li2mno3)
    # the smaller supercell keeps fewer operations: one reverse pair is not found in it
    assert len(in_supercell.bands) > 6
    assert len(by_parent.bands) == 6
    assert len(by_parent.vacancies) == 3


def test_mapped_vacancy_is_relaxed_in_the_endpoint_atom_order(cu3al_tetragonal, emt_spec):
    evaluator = get_evaluator(emt_spec)
    hops = _hop_ends(cu3al_tetragonal, "Cu", 7.0)
    plan = plan_screen(hops)
    by_id = {h.hop_id: h for h in hops}
    for vac in plan.vacancies:
        rep = relax_fixed_cell(_atoms(vac.structure), evaluator, fmax=0.01, max_steps=200)
        relaxed = Structure(
            vac.structure.lattice,
            vac.structure.species,
            rep.atoms.positions,
            coords_are_cartesian=True,
        )
        assert rep.converged
        for key in vac.endpoints:
            target = getattr(by_id[key[0]], key[1])
            m = map_vacancy(plan, key, target, relaxed, rep.energy, rep.forces)
            assert [s.species_string for s in m.structure] == [s.species_string for s in target]
            # every atom stays next to its own unrelaxed position (unwrapped ones included)
            shift = np.linalg.norm(m.structure.cart_coords - target.cart_coords, axis=1)
            assert shift.max() < 0.5
            pred = evaluator.evaluate([_atoms(m.structure)])[0]
            assert pred.energy == pytest.approx(rep.energy, abs=1e-5)
            assert np.abs(pred.forces).max() < 0.02
            np.testing.assert_allclose(m.forces, pred.forces, atol=2e-3)


def test_mapping_through_a_rotation_matches_a_direct_relaxation(cu3al_tetragonal, emt_spec):
    evaluator = get_evaluator(emt_spec)
    hops = _hop_ends(cu3al_tetragonal, "Cu", 7.0)
    plan = plan_screen(hops)
    vac = next(v for v in plan.vacancies if len(v.endpoints) > 1)
    key = next(k for k in vac.endpoints if plan.endpoints[k].vacancy != vac.site)
    end = plan.endpoints[key]
    sym = plan.symmetry
    rotations = [
        op
        for op in sym.ops_between(vac.site, end.vacancy)
        if not np.allclose(sym.rotations[op], np.eye(3))
    ]
    assert rotations, "the test needs an endpoint reached by a proper rotation or mirror"
    rep = relax_fixed_cell(_atoms(vac.structure), evaluator, fmax=0.01, max_steps=200)
    relaxed = Structure(
        vac.structure.lattice, vac.structure.species, rep.atoms.positions, coords_are_cartesian=True
    )
    target = getattr(next(h for h in hops if h.hop_id == key[0]), key[1])
    direct = relax_fixed_cell(_atoms(target), evaluator, fmax=0.01, max_steps=200)
    for op in rotations[:4]:
        m = map_vacancy(plan, key, target, relaxed, rep.energy, rep.forces, op=op)
        np.testing.assert_allclose(m.structure.cart_coords, direct.atoms.positions, atol=0.02)
    wrong = next(op for op in range(sym.n_ops) if sym.image(op, vac.site) != end.vacancy)
    with pytest.raises(IonflowInputError, match="does not send"):
        map_vacancy(plan, key, target, relaxed, rep.energy, rep.forces, op=wrong)


def test_neb_from_given_endpoints_costs_no_endpoint_calls(cu_fcc, emt_spec):
    evaluator = get_evaluator(emt_spec)
    (hop,) = _hop_ends(cu_fcc, "Cu", 7.0)
    plan = plan_screen([hop])
    (vac,) = plan.vacancies
    rep = relax_fixed_cell(_atoms(vac.structure), evaluator, fmax=0.02)
    relaxed = Structure(
        vac.structure.lattice, vac.structure.species, rep.atoms.positions, coords_are_cartesian=True
    )
    ends = [
        map_vacancy(plan, (hop.hop_id, w), getattr(hop, w), relaxed, rep.energy, rep.forces)
        for w in ("initial", "final")
    ]
    given = tuple(RelaxResult(None, m.energy, m.forces, 0, 0, True, 0.0) for m in ends)
    shared = run_neb(
        _atoms(ends[0].structure),
        _atoms(ends[1].structure),
        evaluator,
        n_images=5,
        unwrap=False,
        relaxed_endpoints=given,
    )
    own = run_neb(_atoms(hop.initial), _atoms(hop.final), evaluator, n_images=5, unwrap=False)
    assert shared.endpoint_force_calls == 0
    assert shared.force_calls == shared.band_force_calls
    assert own.endpoint_force_calls > 0
    assert shared.converged
    assert own.converged
    assert shared.barrier_forward == pytest.approx(own.barrier_forward, abs=0.01)
    assert shared.energies[0] == pytest.approx(rep.energy)
    bad = (given[0], RelaxResult(None, 0.0, np.zeros((2, 3)), 0, 0, True, 0.0))
    with pytest.raises(IonflowInputError, match="forces of shape"):
        run_neb(_atoms(hop.initial), _atoms(hop.final), evaluator, relaxed_endpoints=bad)
