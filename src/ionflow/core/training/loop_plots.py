"""How the held-out errors and D change over the rungs of a fine-tuning ladder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["plot_loop"]

_PANELS = (
    ("energy_eV_atom", "held-out energy MAE (meV/atom)", 1000.0),
    ("forces_eV_A", "held-out force MAE (meV/Å)", 1000.0),
    ("stress_GPa", "held-out stress MAE (GPa)", 1.0),
)


def _finite(value: Any) -> bool:
    return value is not None and value == value and abs(value) != float("inf")


def plot_loop(table: Sequence[dict[str, Any]], path: str | Path) -> Path | None:
    """Plot held-out energy/force/stress MAE per model and D per rung temperature as a PNG.

    Parameters
    ----------
    table
        Rows ``{"rung": 0, "label": "initial", "temperature_K": None, "energy_eV_atom": ...,
        "forces_eV_A": ..., "stress_GPa": ..., "D_cm2_s": ...}``: rung 0 is the initial model,
        rung k the model fine-tuned in rung k (its D is from rung k's MD, run with the model
        of rung k - 1).
    path
        Output file.

    Returns
    -------
    pathlib.Path or None
        The file, or None when the table is empty.
    """
    if not table:
        return None
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    rungs = [int(row["rung"]) for row in table]
    names = [str(row.get("label", row["rung"])) for row in table]
    fig, axes = plt.subplots(1, 4, figsize=(14.4, 3.4), squeeze=False)
    for ax, (key, label, scale) in zip(axes[0], _PANELS):
        pts = [(r, row[key] * scale) for r, row in zip(rungs, table) if _finite(row.get(key))]
        if pts:
            ax.plot(*zip(*pts), "-o", ms=4)
        ax.set_xticks(rungs, names, rotation=30, ha="right", fontsize=8)
        ax.set_xlabel("model (after rung)")
        ax.set_ylabel(label)
    ax = axes[0][3]
    pts = [
        (row["temperature_K"], row["D_cm2_s"])
        for row in table
        if _finite(row.get("D_cm2_s")) and row["D_cm2_s"] > 0 and row.get("temperature_K")
    ]
    if pts:
        ax.semilogy(*zip(*pts), "-s", ms=4)
    else:
        ax.text(
            0.5,
            0.5,
            "no positive D\n(MD too short to diffuse)",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    ax.set_xlabel("rung temperature (K)")
    ax.set_ylabel("D of the rung's MD (cm²/s)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
