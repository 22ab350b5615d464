"""The training curve of a fine-tuning run."""

from __future__ import annotations

from pathlib import Path

__all__ = ["plot_training_curve"]


def plot_training_curve(history: dict[str, list[float]], path: str | Path) -> Path | None:
    """Plot train/validation loss and energy/force MAE per epoch as a PNG.

    Parameters
    ----------
    history
        ``{"train_loss": [...], "val_loss": [...], "train_energy_eV_atom": [...], ...}``.
    path
        Output file.

    Returns
    -------
    pathlib.Path or None
        The file, or None when there is nothing to plot.
    """
    if not history.get("train_loss"):
        return None
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("loss", "weighted MAE loss"),
        ("energy_eV_atom", "energy MAE (eV/atom)"),
        ("forces_eV_A", "force MAE (eV/Å)"),
        ("stress_GPa", "stress MAE (GPa)"),
    ]
    panels = [(k, label) for k, label in panels if f"train_{k}" in history]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.2), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels):
        for split, style in (("train", "-o"), ("val", "-s")):
            values = history.get(f"{split}_{key}", [])
            ax.plot(range(1, len(values) + 1), values, style, ms=3, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_yscale("log")
        ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
