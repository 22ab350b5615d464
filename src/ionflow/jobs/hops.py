"""Hop enumeration job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobflow import Maker, job

from ionflow.core.hops import (
    build_vacancy_endpoints,
    enumerate_hops,
    find_mobile_sites,
    normalize_species,
    validate_structure,
)
from ionflow.jobs.base import route
from ionflow.schemas.hops import HopDoc, HopEnumerationDoc, SiteDoc

if TYPE_CHECKING:
    from jobflow import Job
    from pymatgen.core import Structure


@job(output_schema=HopEnumerationDoc)
def enumerate_mobile_hops(
    structure: Structure,
    species: str = "Li",
    symprec: float = 0.1,
    supercell_min_length: float = 10.0,
    close_approach: float = 0.5,
) -> HopEnumerationDoc:
    """Distinct mobile-ion sites, the N^2 hops between them and their vacancy endpoints."""
    species = normalize_species(species)
    validate_structure(structure, species)
    sites = find_mobile_sites(structure, species, symprec=symprec)
    hops = enumerate_hops(
        structure, species, symprec=symprec, close_approach=close_approach, sites=sites
    )
    hop_docs = []
    n_super = None
    for hop in hops:
        ends = build_vacancy_endpoints(structure, hop, min_length=supercell_min_length)
        n_super = len(ends.initial)
        hop_docs.append(
            HopDoc(
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
                supercell=ends.supercell.tolist(),
                hop=hop.as_dict(),
            )
        )
    return HopEnumerationDoc(
        formula=structure.composition.formula,
        species=species,
        structure=structure,
        sites=[SiteDoc(**s.as_dict()) for s in sites],
        hops=hop_docs,
        supercell_min_length_A=supercell_min_length,
        symprec=symprec,
        n_sites_supercell=n_super,
    )


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
        Every supercell lattice length is at least this (Å).
    close_approach
        Hops whose straight path passes closer than this (Å) to another ion are flagged.
    worker
        Kind of worker the job needs (``"cpu"``).
    """

    name: str = "hop enumeration"
    species: str = "Li"
    symprec: float = 0.1
    supercell_min_length: float = 10.0
    close_approach: float = 0.5
    worker: str = "cpu"

    def make(self, structure: Structure) -> Job:
        """Job that enumerates the hops of ``structure``."""
        j = enumerate_mobile_hops(
            structure,
            species=self.species,
            symprec=self.symprec,
            supercell_min_length=self.supercell_min_length,
            close_approach=self.close_approach,
        )
        j.name = self.name
        return route(j, self.worker)
