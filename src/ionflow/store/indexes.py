"""Indexes on the fields users query: created on MongoDB, skipped on stores that cannot index.

MongoDB (jobflow's ``MongoStore``/``MongoURIStore`` + ``GridFSStore``/``S3Store``) answers the
queries of ``ionflow results`` and :mod:`ionflow.query` from indexes. The embedded MontyStore has
none to create (montydb's ``create_index`` is a no-op and maggma's ``ensure_index`` raises on
it): :func:`ensure_indexes` says so and leaves it alone. Creating an index that exists is a
no-op, so calling it at every start is cheap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobflow import JobStore

__all__ = ["DATA_INDEXES", "DOCS_INDEXES", "IndexReport", "ensure_indexes"]

logger = logging.getLogger(__name__)

#: Indexes of the documents store: one tuple per index (several keys: a compound index).
DOCS_INDEXES: tuple[tuple[str, ...], ...] = (
    ("uuid", "index"),  # every output lookup (jobflow's get_output, references)
    ("completed_at",),  # newest first
    ("metadata.ionflow_fingerprint",),  # de-duplicated submission, one row per screen
    ("hosts",),  # the jobs of one flow
    ("name",),
    ("output.reduced_formula",),  # screens by compound
    ("output.formula",),  # NEB, MD and Arrhenius documents by compound
    ("output.model",),
    ("output.hop_id",),
    ("output.temperature_K",),
    ("output.n_hops",),  # the kind of result: hop screen summaries ...
    ("output.Ea_eV",),  # ... Arrhenius results ...
    ("output.model_spec",),  # ... fine-tuned models
    ("output.percolation_barriers_eV.3D",),  # the lian2025 funnel
)
#: Indexes of every additional (``data``) store.
DATA_INDEXES: tuple[tuple[str, ...], ...] = (("blob_uuid",), ("job_uuid",))

#: Store classes that cannot index, and why.
NO_INDEXES = {
    "MontyStore": "montydb has no real indexes (create_index is a no-op); every query scans",
}


@dataclass
class IndexReport:
    """What :func:`ensure_indexes` did, per store (``docs`` or the additional store's name).

    Parameters
    ----------
    created
        Index names (keys joined by ``+``) that exist now.
    skipped
        Why a store was left alone.
    failed
        Indexes the store refused, with its message.
    """

    created: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, list[str]] = field(default_factory=dict)


def _create(store: Any, keys: tuple[str, ...]) -> None:
    """One index on a maggma store; raises when the store refuses it."""
    collection = getattr(store, "_collection", None)
    if len(keys) > 1 and hasattr(collection, "create_index"):
        collection.create_index([(k, 1) for k in keys], background=True)
        return
    for key in keys:
        if not store.ensure_index(key):
            raise RuntimeError(f"{type(store).__name__}.ensure_index({key!r}) returned False")


def _index_store(
    name: str, store: Any, indexes: tuple[tuple[str, ...], ...], report: IndexReport
) -> None:
    reason = NO_INDEXES.get(type(store).__name__)
    if reason:
        report.skipped[name] = f"{type(store).__name__}: {reason}"
        logger.info("Not indexing the %s store: %s", name, report.skipped[name])
        return
    for keys in indexes:
        label = "+".join(keys)
        try:
            _create(store, keys)
        except Exception as exc:  # NotImplementedError, a refusal, pymongo's auth/network
            report.failed.setdefault(name, []).append(f"{label}: {type(exc).__name__}: {exc}")
        else:
            report.created.setdefault(name, []).append(label)
    if report.failed.get(name):
        logger.warning("Indexes not created on the %s store: %s", name, report.failed[name])


def ensure_indexes(store: JobStore) -> IndexReport:
    """Create the indexes ionflow queries use, where the store can have indexes.

    Parameters
    ----------
    store
        A jobflow JobStore (connected here).

    Returns
    -------
    IndexReport
        Created, skipped (stores without indexes, e.g. the embedded MontyStore) and failed
        indexes; never raises for a store that cannot index.
    """
    store.connect()
    report = IndexReport()
    _index_store("docs", store.docs_store, DOCS_INDEXES, report)
    for name, extra in (store.additional_stores or {}).items():
        _index_store(name, extra, DATA_INDEXES, report)
    return report
