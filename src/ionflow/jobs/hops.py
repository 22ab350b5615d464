"""Hop enumeration job."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jobflow import Maker

from ionflow.core.errors import IonflowInputError
from ionflow.core.hops import (
    SUPERCELL_RULES,
    HopEndpoints,
    SupercellChoice,
    build_vacancy_endpoints,
    choose_supercell,
    enumerate_hops,
    find_mobile_sites,
    normalize_species,
    perpendicular_widths,
    supercell_warnings,
    validate_structure,
)
from ionflow.jobs.base import check_worker, ionflow_job
from ionflow.schemas.hops import HopDoc, HopEnumerationDoc, SiteDoc, SupercellDoc
from ionflow.settings import default_supercell_min_length

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from ionflow.core.hops import Hop

logger = logging.getLogger(__name__)

#: A screen with more hops than this warns of its cost.
WARN_HOPS = 50


@dataclass
class HopEnumerationMaker(Maker):
    """Enumerate the inequivalent hops of a mobile ion (lian2025 N^2 rule).

    Parameters
    ----------
    name
        Job name.
    species
        Mobile species (element symbol; Li by default, any cation allowed).
    symprec
        Symmetry tolerance (Å) for distinct sites (0.1, as the Materials Project uses:
        relaxed structures are rarely symmetric to 0.01 Å).
    supercell_min_length
        The supercell size ``L`` (Å); default ``IONFLOW_SUPERCELL_MIN_LENGTH`` (10 Å). What
        it bounds is set by ``supercell_rule``.
    supercell_rule
        ``"width"`` (default): the supercell with the fewest atoms whose narrowest
        perpendicular width (distance between opposite faces, at most the distance between
        a vacancy and its periodic images) is at least ``L``, non-diagonal supercells of the
        primitive cell allowed; ``"distance"``: the fewest atoms whose shortest distance
        between periodic images is at least ``L`` (fcc-like cells, fewer atoms still);
        ``"length"``: every lattice length of the input cell repeated to at least ``L``
        (diagonal; the rule before issue 15).
    close_approach
        Hops whose straight path passes closer than this (Å) to another ion are flagged.
    max_hop_length
        Leave out hops longer than this (Å; ``None``: keep all N² hops). They are listed in
        ``skipped_hops``. Useful on low-symmetry cells, whose N² hops include long ones.
    max_hops
        Refuse (an error before any NEB) a screen with more hops than this; ``None``: no cap.
        Above :data:`WARN_HOPS` hops a warning states the cost either way.
    worker
        Kind of worker the job needs (``"cpu"``).
    """

    name: str = "hop enumeration"
    species: str = "Li"
    symprec: float = 0.1
    supercell_min_length: float = field(default_factory=default_supercell_min_length)
    supercell_rule: str = "width"
    close_approach: float = 0.5
    max_hop_length: float | None = None
    max_hops: int | None = None
    worker: str = "cpu"

    def __post_init__(self) -> None:
        self.species = normalize_species(self.species)
        if self.symprec <= 0:
            raise IonflowInputError(f"symprec must be positive, got {self.symprec}")
        if self.supercell_min_length <= 0:
            raise IonflowInputError(
                f"supercell_min_length must be positive, got {self.supercell_min_length}"
            )
        if self.supercell_rule not in SUPERCELL_RULES:
            raise IonflowInputError(
                f"supercell_rule must be one of {', '.join(SUPERCELL_RULES)}; got "
                f"{self.supercell_rule!r}"
            )
        for knob in ("max_hop_length", "max_hops"):
            value = getattr(self, knob)
            if value is not None and value <= 0:
                raise IonflowInputError(f"{knob} must be positive or None, got {value}")
        check_worker(self.worker)

    @ionflow_job(output_schema=HopEnumerationDoc)
    def make(self, structure: Structure) -> HopEnumerationDoc:
        """Distinct mobile-ion sites, the N^2 hops between them and their vacancy endpoints.

        Parameters
        ----------
        structure
            Ordered structure containing the mobile species.

        Returns
        -------
        HopEnumerationDoc
            Sites, hops and each hop's vacancy endpoints in the supercell.
        """
        validate_structure(structure, self.species)
        sites = find_mobile_sites(structure, self.species, symprec=self.symprec)
        hops = enumerate_hops(
            structure,
            self.species,
            symprec=self.symprec,
            close_approach=self.close_approach,
            sites=sites,
        )
        hops, skipped, warnings = self.select_hops(hops)
        choice = choose_supercell(structure, self.supercell_min_length, self.supercell_rule)
        hop_docs, widths = [], []
        for hop in hops:
            ends = build_vacancy_endpoints(structure, hop, choice=choice)
            widths.append(float(perpendicular_widths(ends.initial.lattice).min()))
            hop_docs.append(_hop_doc(hop, ends))
            for w in supercell_warnings(ends.initial.lattice, self.supercell_min_length):
                if w not in warnings:
                    warnings.append(w)
        for w in warnings:
            logger.warning("%s: %s", structure.composition.reduced_formula, w)
        return HopEnumerationDoc(
            formula=structure.composition.formula,
            species=self.species,
            structure=structure,
            sites=[SiteDoc(**s.as_dict()) for s in sites],
            hops=hop_docs,
            supercell_min_length_A=self.supercell_min_length,
            supercell_rule=self.supercell_rule,
            supercell=_supercell_doc(choice),
            symprec=self.symprec,
            n_sites_supercell=len(hop_docs[0].initial_structure) if hop_docs else None,
            supercell_min_width_A=min(widths) if widths else None,
            skipped_hops=skipped,
            warnings=warnings,
        )

    def select_hops(self, hops: list[Hop]) -> tuple[list[Hop], list[str], list[str]]:
        """Apply ``max_hop_length`` and ``max_hops``; warn about a costly screen.

        Parameters
        ----------
        hops
            The N² hops.

        Returns
        -------
        tuple
            ``(kept hops, skipped hops as "id (length Å)", warnings)``.

        Raises
        ------
        IonflowInputError
            More hops than ``max_hops``.
        """
        skipped = []
        if self.max_hop_length is not None:
            skipped = [
                f"{h.hop_id} ({h.length:.2f} Å)" for h in hops if h.length > self.max_hop_length
            ]
            hops = [h for h in hops if h.length <= self.max_hop_length]
        warnings = []
        if skipped:
            warnings.append(
                f"{len(skipped)} hops longer than {self.max_hop_length:g} Å left out "
                f"(max_hop_length); {len(hops)} remain"
            )
        if self.max_hops is not None and len(hops) > self.max_hops:
            raise IonflowInputError(
                f"{len(hops)} hops to compute, more than max_hops = {self.max_hops}; a low-"
                "symmetry cell has N² hops for N distinct sites: symmetrise it (larger "
                "symprec), or cut long hops with max_hop_length"
            )
        if len(hops) > WARN_HOPS:
            warnings.append(
                f"{len(hops)} hops to compute (one NEB each, minutes apiece on a CPU): a "
                "low-symmetry cell? consider a larger symprec or max_hop_length"
            )
        return hops, skipped, warnings


def _supercell_doc(choice: SupercellChoice) -> SupercellDoc:
    """The stored summary of the vacancy supercell shared by every hop."""
    info = choice.as_dict()
    return SupercellDoc(
        matrix=info["matrix"],
        n_atoms=info["n_atoms"],
        min_width_A=info["min_width_A"],
        min_image_distance_A=info["min_image_distance_A"],
        rule=info["rule"],
        min_length_A=info["min_length_A"],
    )


def _hop_doc(hop: Hop, ends: HopEndpoints) -> HopDoc:
    """The stored document of one hop and its vacancy endpoints."""
    return HopDoc(
        hop_id=hop.hop_id,
        initial_label=hop.initial.label,
        initial_wyckoff=hop.initial.wyckoff,
        final_label=hop.final.label,
        final_wyckoff=hop.final.wyckoff,
        length_A=hop.length,
        min_ion_distance_A=hop.min_ion_distance,
        close_approach=hop.close_approach,
        start_index=hop.start_index,
        end_index=hop.end_index,
        end_image=list(hop.end_image),
        initial_structure=ends.initial,
        final_structure=ends.final,
        moving_index=ends.moving_index,
        supercell=ends.choice.as_dict()["matrix"] if ends.choice else ends.supercell.tolist(),
        hop=hop.as_dict(),
    )
