"""Conductivity from MLIP-MD: Li3N 2x2x2 (32 atoms) with pretrained CHGNet.

    python workflows/conductivity.py [--temperatures 800 1000 1200] [--time-ps 3] [--runs 1]

Builds a ConductivityFlow (MD at each temperature x runs -> D(T) per temperature ->
Arrhenius fit, D and σ at 300 K with 95 % intervals, MSD and Arrhenius plots), runs it on the
default store and prints the result. The same flow goes to FireWorks with
``flow_to_workflow(flow)``: MD jobs carry ``_category: gpu``, the analysis ``cpu``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from jobflow import run_locally

from ionflow.core.io import read_structure
from ionflow.flows import ConductivityFlow
from ionflow.jobs import ArrheniusMaker, DiffusionAnalysisMaker, MLIPMDMaker
from ionflow.store import get_store, output_as_dict

HERE = Path(__file__).resolve().parent


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--structure", default=str(HERE / "structures" / "Li3N.cif"))
    p.add_argument("--model", default="chgnet")
    p.add_argument("--temperatures", type=float, nargs="+", default=[800.0, 1000.0, 1200.0])
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--time-ps", type=float, default=3.0)
    p.add_argument("--timestep-fs", type=float, default=2.0)
    p.add_argument("--segments", type=int, default=3)
    p.add_argument("--plot-dir", default=str(HERE / "output"))
    args = p.parse_args()

    flow = ConductivityFlow(
        temperatures=tuple(args.temperatures),
        n_runs=args.runs,
        supercell=(2, 2, 2),
        md_maker=MLIPMDMaker(
            model=args.model,
            md_settings={
                "timestep_fs": args.timestep_fs,
                "heating_ps": 0.5,
                "equilibration_ps": 0.5,
                "production_ps": args.time_ps,
                "sample_interval_fs": 10.0,
            },
        ),
        diffusion_maker=DiffusionAnalysisMaker(settings={"n_segments": args.segments}),
        arrhenius_maker=ArrheniusMaker(plot_dir=args.plot_dir),
    ).make(read_structure(args.structure))
    store = get_store()
    run_locally(flow, store=store, log=False)
    doc = output_as_dict(store, flow.output.uuid, load=False)
    for key in (
        "temperatures_K",
        "D_cm2_s",
        "D_err_cm2_s",
        "enough_hops",
        "Ea_eV",
        "Ea_err_eV",
        "sigma_mS_cm",
        "sigma_interval_mS_cm",
        "warnings",
        "plot_paths",
    ):
        print(f"{key}: {doc.get(key)}")
    print("flow output uuid:", flow.output.uuid)


if __name__ == "__main__":
    main()
