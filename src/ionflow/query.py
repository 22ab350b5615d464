"""Stored results as pandas DataFrames: screens, hops, conductivity, fine-tuned models.

Every function reads the JobStore (default: :func:`ionflow.store.get_store`, the embedded store
or jobflow's configured MongoDB store), asks the store only for the fields it shows, and returns
one DataFrame; filters that the store can apply (formula, model, barrier thresholds) go into the
query, the others (elements) are applied to the rows::

    from ionflow import query

    query.screens(elements=["Li"], max_barrier=0.5, dimension=3)  # 3D percolation <= 0.5 eV
    query.funnel()                     # lian2025: 3D percolation barrier below 0.5 eV, ranked
    query.hops(formula="LiFePO4", converged=True)
    query.conductivity(model="chgnet")
    query.models()

A structure screened again with the same settings (same fingerprint, see
:mod:`ionflow.fireworks`) appears once: the newest result wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd
    from jobflow import JobStore

__all__ = ["DIMENSIONS", "conductivity", "funnel", "hops", "models", "screens"]

#: Percolation dimensions of a screen document.
DIMENSIONS = (1, 2, 3)

SCREEN_COLUMNS = [
    "uuid", "completed_at", "formula", "reduced_formula", "species", "model", "n_hops",
    "n_converged", "n_failed", "lowest_barrier_eV", "lowest_barrier_hop",
    "percolation_1D_eV", "percolation_2D_eV", "percolation_3D_eV", "fingerprint",
]  # fmt: skip
HOP_COLUMNS = [
    "screen_uuid", "reduced_formula", "species", "model", "hop_id", "initial", "final",
    "length_A", "close_approach", "barrier_forward_eV", "barrier_reverse_eV", "barrier_eV",
    "converged", "failure_reason", "force_calls", "wall_time_s",
]  # fmt: skip
CONDUCTIVITY_COLUMNS = [
    "uuid", "completed_at", "formula", "mobile_species", "model", "temperatures_K", "Ea_eV",
    "Ea_err_eV", "D0_cm2_s", "T_extrapolate_K", "D_extrapolated_cm2_s", "D_low_cm2_s",
    "D_high_cm2_s", "sigma_mS_cm", "sigma_low_mS_cm", "sigma_high_mS_cm", "confidence",
    "n_warnings", "fingerprint",
]  # fmt: skip
#: Fields of a FineTuneDoc shown as they are by :func:`models`.
_MODEL_FIELDS = [
    "backend", "model_spec", "base_model", "checkpoint", "best_epoch", "epochs_run",
    "stopped_early", "dataset_version", "wall_time_s",
]  # fmt: skip
#: Provenance columns of :func:`models`: split sizes, labellers, dataset file, source jobs.
MODEL_PROVENANCE_COLUMNS = [
    "n_train", "n_val", "n_test", "labellers", "dataset_file", "source_jobs", "curve_png",
]  # fmt: skip
MODEL_COLUMNS = ["uuid", "completed_at", *_MODEL_FIELDS, *MODEL_PROVENANCE_COLUMNS]

_SCREEN_FIELDS = (
    "formula", "reduced_formula", "species", "model", "n_hops", "n_converged", "n_failed",
    "lowest_barrier_eV", "lowest_barrier_hop", "percolation_barriers_eV",
)  # fmt: skip


def _connected(store: JobStore | None) -> JobStore:
    if store is None:
        from ionflow.store import get_store

        store = get_store()
    store.connect()
    return store


def _reduced(formula: str) -> str:
    from pymatgen.core import Composition

    from ionflow.errors import IonflowInputError

    try:
        return Composition(formula).reduced_formula
    except Exception as exc:
        raise IonflowInputError(f"cannot read formula {formula!r}: {exc}") from exc


def _check_dimension(dimension: int | None) -> None:
    from ionflow.errors import IonflowInputError

    if dimension is not None and dimension not in DIMENSIONS:
        raise IonflowInputError(f"dimension must be one of {DIMENSIONS}, got {dimension!r}")


def _has_elements(formula: str | None, elements: Iterable[str]) -> bool:
    from pymatgen.core import Composition

    if not formula:
        return False
    present = {el.symbol for el in Composition(formula).elements}
    return set(elements) <= present


def _newest_per_fingerprint(docs: list[dict]) -> list[dict]:
    """Newest first; of documents with the same fingerprint only the newest."""
    docs = sorted(docs, key=lambda d: d.get("completed_at") or "", reverse=True)
    seen: set[str] = set()
    kept = []
    for doc in docs:
        fingerprint = (doc.get("metadata") or {}).get("ionflow_fingerprint")
        if fingerprint is not None:
            if fingerprint in seen:
                continue
            seen.add(fingerprint)
        kept.append(doc)
    return kept


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


def _screen_docs(
    store: JobStore | None,
    formula: str | None,
    model: str | None,
    max_barrier: float | None,
    dimension: int | None,
    fields: Iterable[str],
) -> list[dict]:
    _check_dimension(dimension)
    query: dict[str, Any] = {"output.n_hops": {"$exists": True}}
    if formula:
        query["output.reduced_formula"] = _reduced(formula)
    if model:
        query["output.model"] = model
    if max_barrier is not None:
        key = (
            f"output.percolation_barriers_eV.{dimension}D"
            if dimension
            else "output.lowest_barrier_eV"
        )
        query[key] = {"$lte": float(max_barrier)}
    elif dimension:
        query[f"output.percolation_barriers_eV.{dimension}D"] = {"$ne": None}
    properties = ["uuid", "completed_at", "metadata.ionflow_fingerprint"]
    properties += [f"output.{f}" for f in fields]
    docs = list(_connected(store).query(query, properties=properties))
    return _newest_per_fingerprint(docs)


def screens(
    store: JobStore | None = None,
    *,
    formula: str | None = None,
    elements: Iterable[str] | None = None,
    model: str | None = None,
    max_barrier: float | None = None,
    dimension: int | None = None,
) -> pd.DataFrame:
    """One row per hop screen (structure and model): lowest and percolation barriers.

    Parameters
    ----------
    store
        The JobStore (default: :func:`ionflow.store.get_store`).
    formula
        Only this compound (any formula of it: ``Li2O``, ``Li4O2``).
    elements
        Only compounds that contain all these elements.
    model
        Only screens run with this model (as stored, e.g. ``"chgnet"``).
    max_barrier
        Only screens whose barrier is at most this (eV): the ``dimension``-D percolation
        barrier when ``dimension`` is given, else the lowest hop barrier.
    dimension
        1, 2 or 3: only screens whose hop network percolates in this many dimensions.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SCREEN_COLUMNS`, newest first.
    """
    docs = _screen_docs(store, formula, model, max_barrier, dimension, _SCREEN_FIELDS)
    rows = []
    for doc in docs:
        out = doc.get("output") or {}
        if elements and not _has_elements(out.get("reduced_formula"), elements):
            continue
        perc = out.get("percolation_barriers_eV") or {}
        row = {k: out.get(k) for k in _SCREEN_FIELDS if k != "percolation_barriers_eV"}
        row.update({f"percolation_{d}D_eV": perc.get(f"{d}D") for d in DIMENSIONS})
        row.update(
            uuid=doc["uuid"],
            completed_at=doc.get("completed_at"),
            fingerprint=(doc.get("metadata") or {}).get("ionflow_fingerprint"),
        )
        rows.append(row)
    return _frame(rows, SCREEN_COLUMNS)


def hops(
    store: JobStore | None = None,
    *,
    formula: str | None = None,
    elements: Iterable[str] | None = None,
    model: str | None = None,
    max_barrier: float | None = None,
    converged: bool | None = None,
) -> pd.DataFrame:
    """One row per hop of every stored screen.

    Parameters
    ----------
    store
        The JobStore (default: :func:`ionflow.store.get_store`).
    formula, elements, model
        As in :func:`screens`.
    max_barrier
        Only hops whose barrier (the larger of forward and reverse) is at most this (eV).
    converged
        Only converged (True) or only failed (False) hops.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`HOP_COLUMNS`; ``barrier_eV`` is max(forward, reverse).
    """
    fields = ("reduced_formula", "species", "model", "hops")
    rows = []
    for doc in _screen_docs(store, formula, model, None, None, fields):
        out = doc.get("output") or {}
        if elements and not _has_elements(out.get("reduced_formula"), elements):
            continue
        for hop in out.get("hops") or []:
            barriers = [hop.get("barrier_forward_eV"), hop.get("barrier_reverse_eV")]
            known = [b for b in barriers if b is not None]
            barrier = max(known) if len(known) == 2 else None
            if max_barrier is not None and (barrier is None or barrier > max_barrier):
                continue
            if converged is not None and bool(hop.get("converged")) != converged:
                continue
            row = {k: hop.get(k) for k in HOP_COLUMNS}
            row.update(
                screen_uuid=doc["uuid"],
                reduced_formula=out.get("reduced_formula"),
                species=out.get("species"),
                model=out.get("model"),
                barrier_eV=barrier,
            )
            rows.append(row)
    return _frame(rows, HOP_COLUMNS)


def _models_of_flows(store: JobStore, flow_uuids: set[str]) -> dict[str, str]:
    """``{flow uuid: model}`` from the MD documents the flows wrote."""
    if not flow_uuids:
        return {}
    query = {"output.seed": {"$exists": True}, "output.model": {"$exists": True}}
    query["hosts"] = {"$in": sorted(flow_uuids)}
    found: dict[str, str] = {}
    for doc in store.query(query, properties=["hosts", "output.model"]):
        for host in doc.get("hosts") or []:
            found.setdefault(host, doc["output"]["model"])
    return found


def conductivity(
    store: JobStore | None = None,
    *,
    formula: str | None = None,
    elements: Iterable[str] | None = None,
    model: str | None = None,
    max_Ea: float | None = None,
    min_sigma: float | None = None,
) -> pd.DataFrame:
    """One row per Arrhenius result: Ea, σ at the extrapolation temperature, intervals.

    Parameters
    ----------
    store
        The JobStore (default: :func:`ionflow.store.get_store`).
    formula, elements
        As in :func:`screens`.
    model
        Only results whose MD ran with this model.
    max_Ea
        Only activation energies at most this (eV).
    min_sigma
        Only conductivities at least this (mS/cm).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CONDUCTIVITY_COLUMNS`, newest first; ``model`` from the flow's MD runs.
    """
    store = _connected(store)
    query: dict[str, Any] = {"output.Ea_eV": {"$exists": True}}
    query["output.temperatures_K"] = {"$exists": True}
    if formula:
        query["output.formula"] = _reduced(formula)
    if max_Ea is not None:
        query["output.Ea_eV"] = {"$lte": float(max_Ea)}
    if min_sigma is not None:
        query["output.sigma_mS_cm"] = {"$gte": float(min_sigma)}
    properties = ["uuid", "completed_at", "hosts", "metadata.ionflow_fingerprint", "output"]
    docs = _newest_per_fingerprint(list(store.query(query, properties=properties)))
    hosts = {h for d in docs for h in (d.get("hosts") or [])}
    flow_models = _models_of_flows(store, hosts)
    rows = []
    for doc in docs:
        out = doc.get("output") or {}
        if elements and not _has_elements(out.get("formula"), elements):
            continue
        run_model = next((flow_models[h] for h in doc.get("hosts") or [] if h in flow_models), None)
        if model and run_model != model:
            continue
        d_int = out.get("D_extrapolated_interval_cm2_s") or [None, None]
        s_int = out.get("sigma_interval_mS_cm") or [None, None]
        row = {k: out.get(k) for k in CONDUCTIVITY_COLUMNS}
        row.update(
            uuid=doc["uuid"],
            completed_at=doc.get("completed_at"),
            model=run_model,
            D_low_cm2_s=d_int[0],
            D_high_cm2_s=d_int[1],
            sigma_low_mS_cm=s_int[0],
            sigma_high_mS_cm=s_int[1],
            n_warnings=len(out.get("warnings") or []),
            fingerprint=(doc.get("metadata") or {}).get("ionflow_fingerprint"),
        )
        rows.append(row)
    return _frame(rows, CONDUCTIVITY_COLUMNS)


def models(store: JobStore | None = None, *, base_model: str | None = None) -> pd.DataFrame:
    """One row per fine-tuned model, with its metrics and provenance.

    Parameters
    ----------
    store
        The JobStore (default: :func:`ionflow.store.get_store`).
    base_model
        Only models fine-tuned from this one.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MODEL_COLUMNS` (ending with :data:`MODEL_PROVENANCE_COLUMNS`: split
        sizes, the labellers of the dataset, the extxyz file it was read from, the jobs its
        configurations came from, e.g. NEB jobs, the training-curve plot), then one per
        stored metric (``<split>_<metric>``, e.g. ``test_energy_eV_atom``,
        ``val_forces_eV_A``). Empty when no fine-tuning result is stored.
    """
    query: dict[str, Any] = {
        "output.model_spec": {"$exists": True},
        "output.checkpoint": {"$exists": True},
    }
    if base_model:
        query["output.base_model"] = base_model
    fields = [*_MODEL_FIELDS, "metrics", "n_configs", "curve_png"]
    fields += [f"provenance.{k}" for k in ("labellers", "labeller", "file", "jobs")]
    properties = ["uuid", "completed_at", *(f"output.{f}" for f in fields)]
    rows, metric_columns = [], []
    for doc in _connected(store).query(query, properties=properties, sort={"completed_at": -1}):
        out = doc.get("output") or {}
        row = {"uuid": doc["uuid"], "completed_at": doc.get("completed_at")}
        row.update({k: out.get(k) for k in _MODEL_FIELDS})
        row.update(_model_provenance(out))
        for split, values in (out.get("metrics") or {}).items():
            for name, value in (values or {}).items():
                column = f"{split}_{name}"
                row[column] = value
                if column not in metric_columns:
                    metric_columns.append(column)
        rows.append(row)
    return _frame(rows, MODEL_COLUMNS + metric_columns)


def _model_provenance(out: dict[str, Any]) -> dict[str, Any]:
    """Split sizes, labellers, dataset file and source jobs of one FineTuneDoc."""
    sizes = out.get("n_configs") or {}
    provenance = out.get("provenance") or {}
    labellers = list(provenance.get("labellers") or [])
    if provenance.get("labeller") and provenance["labeller"] not in labellers:
        labellers.append(provenance["labeller"])
    return {
        "n_train": sizes.get("train"),
        "n_val": sizes.get("val"),
        "n_test": sizes.get("test"),
        "labellers": labellers,
        "dataset_file": provenance.get("file"),
        "source_jobs": list(provenance.get("jobs") or []),
        "curve_png": out.get("curve_png"),
    }


def funnel(
    store: JobStore | None = None,
    *,
    max_barrier: float = 0.5,
    dimension: int = 3,
    formula: str | None = None,
    elements: Iterable[str] | None = None,
    model: str | None = None,
) -> pd.DataFrame:
    """lian2025's funnel in one call: screens that percolate below a barrier, ranked.

    Structures whose ``dimension``-D percolation barrier is at most ``max_barrier``
    (default: 3D, 0.5 eV), lowest first, with their MD conductivity where it has been run
    (``Ea_eV``, ``sigma_mS_cm`` and its interval, matched on formula and mobile species).

    Parameters
    ----------
    store
        The JobStore (default: :func:`ionflow.store.get_store`).
    max_barrier
        Percolation barrier threshold (eV).
    dimension
        1, 2 or 3.
    formula, elements, model
        As in :func:`screens`.

    Returns
    -------
    pandas.DataFrame
        :data:`SCREEN_COLUMNS` plus ``Ea_eV``, ``sigma_mS_cm``, ``sigma_low_mS_cm``,
        ``sigma_high_mS_cm``, sorted by the percolation barrier.
    """
    store = _connected(store)
    found = screens(
        store,
        formula=formula,
        elements=elements,
        model=model,
        max_barrier=max_barrier,
        dimension=dimension,
    )
    found = found.sort_values(f"percolation_{dimension}D_eV", kind="stable")
    md = conductivity(store, model=model)
    extra = ["Ea_eV", "sigma_mS_cm", "sigma_low_mS_cm", "sigma_high_mS_cm"]
    md = md.drop_duplicates(["formula", "mobile_species"])[["formula", "mobile_species", *extra]]
    md = md.rename(columns={"formula": "reduced_formula", "mobile_species": "species"})
    merged = found.merge(md, on=["reduced_formula", "species"], how="left")
    return merged.reset_index(drop=True)
