"""Turn per-hop NEB results into the screen summary (Table-1 rows, lowest barrier, percolation)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ionflow.core.hops.percolation import percolation_barriers

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pymatgen.core import Structure

    from ionflow.core.hops.enumerate import Hop


def _finite(x: Any) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def summarize_hops(
    structure: Structure,
    hops: Sequence[Hop],
    results: Mapping[str, Mapping[str, Any] | None],
    symprec: float | None = 0.1,
    bands: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Barrier table, lowest barrier and percolation barriers of a hop screen.

    Parameters
    ----------
    structure
        Unit cell the hops were enumerated on.
    hops
        The enumerated hops.
    results
        NEB summary per ``hop_id`` with ``barrier_forward_eV``, ``barrier_reverse_eV``,
        ``converged`` and ``failure_reason``; ``None`` (or a missing key) when the hop's job
        produced nothing (crashed worker).
    symprec
        Symmetry tolerance the sites were found with; hops are expanded to edges by the
        space group at this tolerance (:func:`ionflow.core.hops.hop_edges`).
    bands
        Per ``hop_id``, the band its barriers come from: ``band_id`` and ``reversed`` (the
        hop runs the band backwards); copied into the rows. ``None``: one band per hop.

    Returns
    -------
    dict
        ``rows`` (one per hop, in enumeration order), ``lowest_barrier_eV``,
        ``lowest_barrier_hop``, ``percolation_barriers_eV`` (1D/2D/3D, from converged hops
        only, edge cost max(forward, reverse)), ``n_converged``, ``n_failed``.
    """
    rows = []
    costs: dict[str, float] = {}
    lowest = None
    lowest_hop = None
    for hop in hops:
        res = results.get(hop.hop_id)
        fwd = res.get("barrier_forward_eV") if res else None
        rev = res.get("barrier_reverse_eV") if res else None
        converged = bool(res and res.get("converged"))
        reason = (res or {}).get("failure_reason") if res else "job produced no output"
        rows.append(
            {
                "hop_id": hop.hop_id,
                "initial": f"{hop.initial.label} ({hop.initial.wyckoff})",
                "final": f"{hop.final.label} ({hop.final.wyckoff})",
                "length_A": float(hop.length),
                "close_approach": bool(hop.close_approach),
                "barrier_forward_eV": fwd if _finite(fwd) else None,
                "barrier_reverse_eV": rev if _finite(rev) else None,
                "converged": converged,
                "failure_reason": reason,
                "force_calls": (res or {}).get("force_calls"),
                "wall_time_s": (res or {}).get("wall_time_s"),
                "band_id": ((bands or {}).get(hop.hop_id) or {}).get("band_id"),
                "reversed": ((bands or {}).get(hop.hop_id) or {}).get("reversed"),
            }
        )
        if converged and _finite(fwd) and _finite(rev):
            costs[hop.hop_id] = max(fwd, rev)
            if lowest is None or fwd < lowest:
                lowest, lowest_hop = fwd, hop.hop_id
    n_conv = sum(r["converged"] for r in rows)
    return {
        "rows": rows,
        "lowest_barrier_eV": lowest,
        "lowest_barrier_hop": lowest_hop,
        "percolation_barriers_eV": percolation_barriers(structure, hops, costs, symprec=symprec),
        "n_converged": n_conv,
        "n_failed": len(rows) - n_conv,
    }


def _band_cell(row: Mapping[str, Any]) -> str:
    band = row.get("band_id")
    if band is None:
        return "-"
    return f"{band} rev" if row.get("reversed") else str(band)


def format_barrier_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Plain-text table in the layout of lian2025 Table 1.

    When the rows name their bands (a screen that runs one band per path), a ``band`` column
    says which band each hop's barriers come from (``rev``: the hop runs it backwards).
    """
    with_bands = any(r.get("band_id") for r in rows)
    band_head = f"{'band':>8}" if with_bands else ""
    header = f"{'IS -> FS':<26}{'length/Å':>9}{band_head}{'fwd/eV':>9}{'rev/eV':>9}  {'status'}"
    lines = [header, "-" * len(header)]
    for r in rows:
        fwd = r.get("barrier_forward_eV")
        rev = r.get("barrier_reverse_eV")
        status = "converged" if r.get("converged") else f"FAILED: {r.get('failure_reason')}"
        if r.get("close_approach"):
            status += " [path < 0.5 Å from an ion]"
        lines.append(
            f"{r['initial'] + ' -> ' + r['final']:<26}{r['length_A']:>9.3f}"
            f"{(f'{_band_cell(r):>8}' if with_bands else '')}"
            f"{(f'{fwd:.3f}' if fwd is not None else '-'):>9}"
            f"{(f'{rev:.3f}' if rev is not None else '-'):>9}  {status}"
        )
    return "\n".join(lines)
