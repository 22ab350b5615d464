"""ionflow.store.ensure_indexes: created where the store can index, skipped cleanly elsewhere."""

from __future__ import annotations

from jobflow import JobStore
from maggma.stores import MemoryStore

from ionflow.store import embedded_store, ensure_indexes
from ionflow.store.indexes import DOCS_INDEXES


def test_indexes_on_a_mongo_like_store():
    store = JobStore(MemoryStore("docs"), additional_stores={"data": MemoryStore("blobs")})
    report = ensure_indexes(store)
    assert report.skipped == {}
    assert report.failed == {}
    assert len(report.created["docs"]) == len(DOCS_INDEXES)
    info = store.docs_store._collection.index_information()
    keys = {tuple(k for k, _ in v["key"]) for v in info.values()}
    assert ("uuid", "index") in keys  # compound, as jobflow looks outputs up
    for wanted in ("output.reduced_formula", "output.model", "metadata.ionflow_fingerprint",
                   "output.percolation_barriers_eV.3D", "output.hop_id"):  # fmt: skip
        assert (wanted,) in keys
    data_keys = {
        tuple(k for k, _ in v["key"])
        for v in store.additional_stores["data"]._collection.index_information().values()
    }
    assert ("blob_uuid",) in data_keys
    # a second call is harmless
    assert ensure_indexes(store).created == report.created


def test_embedded_store_is_skipped_cleanly(tmp_path):
    store = embedded_store(tmp_path / "store")
    report = ensure_indexes(store)
    assert report.created == {}
    assert report.failed == {}
    assert set(report.skipped) == {"docs", "data"}
    assert "montydb has no real indexes" in report.skipped["docs"]
    store.docs_store.update([{"uuid": "a", "index": 1, "output": {}}], key=["uuid", "index"])
    assert store.docs_store.count() == 1  # still a working store


class RefusingStore(MemoryStore):
    def ensure_index(self, key, unique=False):
        raise NotImplementedError("no indexes here")


def test_a_store_that_refuses_is_reported_not_raised():
    store = JobStore(MemoryStore("docs"), additional_stores={"data": RefusingStore("blobs")})
    report = ensure_indexes(store)
    assert "docs" in report.created
    assert report.failed["data"] == [
        "blob_uuid: NotImplementedError: no indexes here",
        "job_uuid: NotImplementedError: no indexes here",
    ]
