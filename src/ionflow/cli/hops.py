"""``ionflow hops``: distinct sites and the N² hops of a structure; nothing is computed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ionflow.cli.common import add_command, add_json_option, add_structure_options, print_json

if TYPE_CHECKING:
    import argparse
    from typing import TextIO


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ionflow hops``."""
    parser = add_command(
        subparsers,
        "hops",
        "list distinct sites and hops (no calculation)",
        run,
        description="Symmetry-distinct sites of the mobile species (Wyckoff labels of the "
        "conventional cell) and, from each, the hop to the nearest site of every distinct "
        "type, with lengths and close approaches to other ions.",
    )
    add_structure_options(parser)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    """List the sites and hops of ``args.structure``; exit status 0."""
    from ionflow.core.hops import (
        enumerate_hops,
        find_mobile_sites,
        normalize_species,
        validate_structure,
    )
    from ionflow.core.hops.supercell import choose_supercell
    from ionflow.core.io import read_structure

    structure = read_structure(args.structure)
    species = normalize_species(args.species)
    validate_structure(structure, species)
    sites = find_mobile_sites(structure, species, symprec=args.symprec)
    hops = enumerate_hops(structure, species, symprec=args.symprec, sites=sites)
    supercell = choose_supercell(structure, args.supercell_min, args.supercell_rule).as_dict()
    doc = {
        "formula": structure.composition.reduced_formula,
        "species": species,
        "supercell": supercell,
        "sites": [s.as_dict() for s in sites],
        "hops": [_hop_row(h) for h in hops],
    }
    if args.json:
        print_json(doc, args.stdout)
    else:
        _print_table(doc, args.stdout)
    return 0


def _hop_row(hop: Any) -> dict[str, Any]:
    return {
        "hop_id": hop.hop_id,
        "initial": hop.initial.label,
        "initial_wyckoff": hop.initial.wyckoff,
        "final": hop.final.label,
        "final_wyckoff": hop.final.wyckoff,
        "length_A": hop.length,
        "min_ion_distance_A": hop.min_ion_distance,
        "close_approach": hop.close_approach,
    }


def _print_table(doc: dict[str, Any], out: TextIO) -> None:
    """Sites (Wyckoff label and multiplicity, count in the input cell) and hops."""
    sites, hops = doc["sites"], doc["hops"]
    print(f"{doc['formula']}: {len(sites)} distinct {doc['species']} site(s)", file=out)
    print(
        f"{'site':<8}{'Wyckoff':>8}{'Wyckoff mult.':>15}{'in input cell':>15}   frac. coords",
        file=out,
    )
    for s in sites:
        coords = " ".join(f"{x:7.4f}" for x in s["frac_coords"])
        print(
            f"{s['label']:<8}{s['wyckoff']:>8}{s['wyckoff_multiplicity']:>15}"
            f"{s['multiplicity']:>15}   {coords}",
            file=out,
        )
    print(
        "(Wyckoff labels and multiplicities refer to the conventional cell; "
        "'in input cell' counts the sites of the file you gave)",
        file=out,
    )
    cell = doc["supercell"]
    print(
        f"\n{len(hops)} hop(s); NEB supercell: {cell['n_atoms']} atoms, matrix {cell['matrix']}, "
        f"narrowest width {cell['min_width_A']:.2f} Å ({cell['rule']} rule, "
        f"L = {cell['min_length_A']:g} Å)",
        file=out,
    )
    print(f"{'IS -> FS':<26}{'length/Å':>9}{'closest ion/Å':>15}", file=out)
    for h in hops:
        flag = "  <- passes within 0.5 Å of an ion" if h["close_approach"] else ""
        name = f"{h['initial']} ({h['initial_wyckoff']}) -> {h['final']} ({h['final_wyckoff']})"
        print(f"{name:<26}{h['length_A']:>9.3f}{h['min_ion_distance_A']:>15.3f}{flag}", file=out)
