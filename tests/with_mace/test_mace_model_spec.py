"""``mace:PATH`` in .venv-mace: the fine-tuned model everywhere, torch's defaults untouched."""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import pytest
from mace_helpers import HAS_MACE, NO_MACE, run_cli

pytestmark = [pytest.mark.mace, pytest.mark.skipif(not HAS_MACE, reason=NO_MACE)]


def test_loading_mace_keeps_torch_weights_only_default(foundation, tmp_path, monkeypatch):
    import torch

    from ionflow.mlip import clear_model_cache, get_evaluator
    from ionflow.mlip.mace import WEIGHTS_ONLY_ENV

    monkeypatch.delenv(WEIGHTS_ONLY_ENV, raising=False)
    clear_model_cache()
    evaluator = get_evaluator(f"mace:{foundation['model']}")
    from ase.build import bulk

    pred = evaluator.evaluate([bulk("Cu", "fcc", a=3.61, cubic=True)], stress=True)[0]
    assert np.isfinite(pred.energy)
    assert pred.forces.shape == (4, 3)
    assert WEIGHTS_ONLY_ENV not in os.environ  # `import mace` set it; ionflow put it back
    path = tmp_path / "obj.pt"
    torch.save(argparse.Namespace(a=1), path)
    with pytest.raises(Exception, match=r"[Ww]eights only load failed|weights_only"):
        torch.load(path)  # default arguments: still refuses arbitrary objects
    clear_model_cache()


def test_neb_with_the_multihead_model(multihead, mace_work, cu_fcc):
    """``ionflow neb --model mace:PATH`` on a tiny Cu vacancy cell with the fine-tuned model."""
    from pymatgen.io.ase import AseAtomsAdaptor

    from ionflow.core.hops import build_vacancy_endpoints, enumerate_hops

    hop = enumerate_hops(cu_fcc, "Cu", symprec=0.1)[0]
    a, b = build_vacancy_endpoints(cu_fcc, hop, min_length=7.0).to_ase()
    files = []
    for name, atoms in (("ini", a), ("fin", b)):
        path = mace_work / f"{name}.vasp"
        AseAtomsAdaptor.get_structure(atoms).to(filename=str(path))
        files.append(str(path))
    proc = run_cli(
        "neb", *files, "--model", multihead["model_spec"], "--n-images", "5",
        "--max-steps", "60", "--fmax", "0.1", "--json", cwd=mace_work,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: ran, band not converged
    out = json.loads(proc.stdout)
    row = out["hops"][0]
    assert "mace" in json.dumps(out)
    assert np.isfinite(row["barrier_forward_eV"]), row
    print(f"MACE NEB: converged {row['converged']}, barrier {row['barrier_forward_eV']:.3f} eV")
