"""Documents of the labellers: one configuration's label and a labelled set.

Every labeller (VASP statics through atomate2/custodian, a teacher MLIP) returns the same
:class:`LabelSetDoc` of :class:`ConfigLabel` s, so datasets and fine-tuning never ask who
labelled a configuration.

Units and signs
---------------
- ``energy_eV``: total energy of the cell (eV), not per atom. VASP: the energy ionic step's
  ``e_0_energy`` (sigma -> 0), which is what atomate2's TaskDoc and pymatgen's Vasprun call
  ``final_energy``.
- ``forces_eV_A``: (n_atoms, 3) in eV/Å, same atom order as ``structure``.
- ``stress_GPa``: Voigt ``[xx, yy, zz, yz, xz, xy]`` in GPa with **ASE's sign convention**:
  positive = tensile (the cell wants to shrink), ``pressure = -mean(stress[:3])``. VASP prints
  the opposite sign in kBar: ``stress_GPa = -0.1 * vasp_stress_kBar``. CHGNet's
  ``StructureData(stresses=...)`` takes VASP's stress (3x3, kBar, VASP sign; it multiplies by
  -0.1 itself, as for MPtrj): give it :attr:`ConfigLabel.stress_vasp_kbar`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, field_serializer, field_validator, model_validator
from pymatgen.core import Structure

if TYPE_CHECKING:
    from ase import Atoms

__all__ = ["ConfigLabel", "LabelSetDoc", "LabelSource"]

#: Kinds of configuration a label can come from (``ConfigLabel.source["kind"]``).
SOURCE_KINDS = ("neb_image", "md_frame", "user", "strained")


class LabelSource(BaseModel):
    """Provenance of one configuration (the usual keys of ``ConfigLabel.source``).

    Kept as a plain dict in :class:`ConfigLabel` so that callers may add keys; this model
    documents the keys ionflow itself writes.
    """

    kind: str = Field("user", description=f"One of {SOURCE_KINDS}")
    index: int | None = Field(None, description="Position in the labelled list")
    job_uuid: str | None = Field(None, description="Job that produced the configuration")
    image: int | None = Field(None, description="NEB image index (kind 'neb_image')")
    frame: int | None = Field(None, description="MD frame index (kind 'md_frame')")
    hop_id: str | None = None
    temperature_K: float | None = None


class ConfigLabel(BaseModel):
    """Energy, forces and stress of one configuration from one labeller.

    A label with ``converged=False`` or a ``failure_reason`` is a report, not a label:
    :attr:`ok` is False and :class:`LabelSetDoc` keeps it out of ``labels``.
    """

    structure: Structure = Field(description="The labelled configuration (VASP: final CONTCAR)")
    energy_eV: float | None = Field(None, description="Total energy of the cell (eV)")
    forces_eV_A: list[list[float]] | None = Field(None, description="(n_atoms, 3) eV/Å")
    stress_GPa: list[float] | None = Field(
        None, description="Voigt xx,yy,zz,yz,xz,xy in GPa, ASE sign (positive = tensile)"
    )
    converged: bool = Field(description="Electronic (and ionic, if any) convergence reached")
    labeller: str = Field(description="'vasp:<input set>' or the teacher's model label")
    source: dict[str, Any] = Field(
        default_factory=dict, description="Provenance, see LabelSource (kind, index, job_uuid)"
    )
    corrections: list[dict[str, Any]] = Field(
        default_factory=list, description="custodian corrections ({'errors', 'actions', ...})"
    )
    failure_reason: str | None = None
    dir_name: str | None = Field(None, description="Calculation directory (VASP)")
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Labeller extras (e.g. ENCUT, k-points, run time)"
    )

    @field_validator("stress_GPa", mode="before")
    @classmethod
    def _voigt(cls, value: Any) -> Any:
        """Accept a 3x3 tensor and store its Voigt form."""
        if value is None:
            return None
        values = [list(map(float, row)) if hasattr(row, "__len__") else row for row in value]
        if len(values) == 3 and all(isinstance(row, list) and len(row) == 3 for row in values):
            m = values
            return [m[0][0], m[1][1], m[2][2], m[1][2], m[0][2], m[0][1]]
        if len(values) != 6:
            raise ValueError(f"stress_GPa needs 6 Voigt components or 3x3, got {len(values)}")
        return [float(v) for v in values]

    @field_serializer("structure", when_used="json")
    def _structure_json(self, structure: Structure) -> dict[str, Any]:
        """``model_dump(mode="json")`` / ``model_dump_json()``: the Structure's dict."""
        return structure.as_dict()

    @model_validator(mode="after")
    def _shapes(self) -> ConfigLabel:
        if self.forces_eV_A is not None:
            n_atoms = len(self.structure)
            if len(self.forces_eV_A) != n_atoms or any(len(f) != 3 for f in self.forces_eV_A):
                raise ValueError(f"forces_eV_A must be ({n_atoms}, 3)")
        return self

    @property
    def ok(self) -> bool:
        """True when this is a usable label: converged, no failure, an energy."""
        return self.converged and self.failure_reason is None and self.energy_eV is not None

    @property
    def stress_vasp_kbar(self) -> list[list[float]] | None:
        """The stress as VASP prints it: 3x3, kBar, positive = compressive (CHGNet's input)."""
        if self.stress_GPa is None:
            return None
        xx, yy, zz, yz, xz, xy = (-10.0 * s for s in self.stress_GPa)
        return [[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]]

    @property
    def energy_per_atom_eV(self) -> float | None:
        """Energy per atom (eV/atom)."""
        return None if self.energy_eV is None else self.energy_eV / len(self.structure)

    def to_atoms(self) -> Atoms:
        """ASE Atoms with a SinglePointCalculator carrying energy, forces and stress.

        ``ase.io.write("set.extxyz", [label.to_atoms() for label in doc.labels])`` writes an
        extxyz with ``energy``, ``forces`` and ``stress`` (eV/Å³, ASE sign); ``atoms.info``
        holds ``labeller``, ``converged`` and the scalar ``source`` keys (``source_kind``, ...).

        Returns
        -------
        ase.Atoms
            The configuration with its labels attached.
        """
        import numpy as np
        from ase import units
        from ase.calculators.singlepoint import SinglePointCalculator
        from pymatgen.io.ase import AseAtomsAdaptor

        atoms = AseAtomsAdaptor.get_atoms(self.structure)
        results: dict[str, Any] = {}
        if self.energy_eV is not None:
            results["energy"] = self.energy_eV
            results["free_energy"] = self.energy_eV
        if self.forces_eV_A is not None:
            results["forces"] = np.asarray(self.forces_eV_A, dtype=float)
        if self.stress_GPa is not None:
            results["stress"] = np.asarray(self.stress_GPa, dtype=float) * units.GPa
        if results:
            atoms.calc = SinglePointCalculator(atoms, **results)
        atoms.info["labeller"] = self.labeller
        atoms.info["converged"] = self.converged
        for key, value in self.source.items():
            if isinstance(value, (str, int, float, bool)):
                atoms.info[f"source_{key}"] = value
        return atoms

    @classmethod
    def from_atoms(
        cls, atoms: Atoms, labeller: str | None = None, source: dict | None = None
    ) -> ConfigLabel:
        """Label from ASE Atoms with a calculator (e.g. read from an extxyz file).

        Parameters
        ----------
        atoms
            Atoms whose ``calc`` holds ``energy`` and optionally ``forces``/``stress``.
        labeller
            Labeller name (default ``atoms.info["labeller"]`` or ``"user"``).
        source
            Provenance (default: the ``source_*`` keys of ``atoms.info``, else
            ``{"kind": "user"}``).

        Returns
        -------
        ConfigLabel
            A converged label.
        """
        from ase import units
        from pymatgen.io.ase import AseAtomsAdaptor

        results = dict(getattr(atoms.calc, "results", {}) or {})
        stress = results.get("stress")
        if stress is not None:
            stress = [float(s) / units.GPa for s in _voigt_array(stress)]
        forces = results.get("forces")
        energy = results.get("energy")
        if source is None:
            source = {
                key[len("source_") :]: value.item() if hasattr(value, "item") else value
                for key, value in atoms.info.items()
                if key.startswith("source_")
            } or {"kind": "user"}
        return cls(
            structure=AseAtomsAdaptor.get_structure(atoms),
            energy_eV=None if energy is None else float(energy),
            forces_eV_A=None if forces is None else [[float(x) for x in f] for f in forces],
            stress_GPa=stress,
            converged=bool(atoms.info.get("converged", True)),
            labeller=labeller or str(atoms.info.get("labeller", "user")),
            source=source,
        )


def _voigt_array(stress: Any) -> list[float]:
    import numpy as np

    stress = np.asarray(stress, dtype=float)
    if stress.shape == (3, 3):
        return [stress[0, 0], stress[1, 1], stress[2, 2], stress[1, 2], stress[0, 2], stress[0, 1]]
    return list(stress.reshape(6))


class LabelSetDoc(BaseModel):
    """Output of a labelling job: usable labels and the reported failures.

    ``labels`` holds only usable labels (:attr:`ConfigLabel.ok`); an unconverged or failed
    calculation is in ``failed`` with its ``failure_reason`` and never becomes a label.
    """

    labeller: str = Field(description="'vasp:<input set>' or the teacher's model label")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Labeller settings (INCAR updates, k-point density)"
    )
    labels: list[ConfigLabel] = Field(default_factory=list, description="Usable labels only")
    failed: list[ConfigLabel] = Field(
        default_factory=list, description="Unconverged or failed calculations, with a reason"
    )
    n_ok: int = 0
    n_failed: int = 0
    n_corrections: int = Field(0, description="custodian corrections over all calculations")
    wall_time_s: float | None = None

    @model_validator(mode="after")
    def _sort(self) -> LabelSetDoc:
        bad = [label for label in self.labels if not label.ok]
        if bad:
            self.labels = [label for label in self.labels if label.ok]
            self.failed = [*self.failed, *bad]
        for label in self.failed:
            if label.failure_reason is None:
                label.failure_reason = "not converged" if not label.converged else "no energy"
        self.n_ok = len(self.labels)
        self.n_failed = len(self.failed)
        self.n_corrections = sum(len(x.corrections) for x in [*self.labels, *self.failed])
        return self

    @classmethod
    def from_labels(
        cls, labels: list[ConfigLabel], labeller: str, settings: dict | None = None, **kwargs: Any
    ) -> LabelSetDoc:
        """Split ``labels`` into usable labels and failures.

        Parameters
        ----------
        labels
            Labels in configuration order, failures included.
        labeller
            Labeller name.
        settings
            Labeller settings.
        **kwargs
            More fields (``wall_time_s``).

        Returns
        -------
        LabelSetDoc
            The set.
        """
        return cls(
            labeller=labeller,
            settings=settings or {},
            labels=[label for label in labels if label.ok],
            failed=[label for label in labels if not label.ok],
            **kwargs,
        )

    def to_atoms_list(self) -> list[Atoms]:
        """The usable labels as ASE Atoms (see :meth:`ConfigLabel.to_atoms`).

        Returns
        -------
        list of ase.Atoms
            One per usable label.
        """
        return [label.to_atoms() for label in self.labels]
