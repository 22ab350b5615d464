"""A killed run resumes from its checkpoint and ends where an uninterrupted run ends."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ionflow.core.errors import IonflowInputError
from ionflow.core.md import run_md


class _Killed(KeyboardInterrupt):
    pass


def _kill_at(step_to_kill):
    def callback(step, atoms):
        if step == step_to_kill:
            raise _Killed

    return callback


def _same_run(a, b):
    assert a.completed
    assert b.completed
    assert a.n_steps_done == b.n_steps_done
    assert a.n_frames == b.n_frames
    np.testing.assert_array_equal(a.times_ps, b.times_ps)
    np.testing.assert_allclose(a.positions_mobile, b.positions_mobile, atol=1e-5)
    np.testing.assert_allclose(a.temperatures_K, b.temperatures_K, rtol=1e-6)
    np.testing.assert_allclose(a.potential_energies_eV, b.potential_energies_eV, atol=1e-8)
    np.testing.assert_allclose(a.thermo_times_ps, b.thermo_times_ps)
    np.testing.assert_allclose(
        a.thermo_conserved_energies_eV, b.thermo_conserved_energies_eV, atol=1e-8
    )


@pytest.mark.parametrize(
    ("thermostat", "extra"),
    [
        ("nose-hoover-chain", {"heating_ps": 0.04}),  # killed during production
        ("langevin", {}),  # the noise generator's state is restored too
        ("nose-hoover-chain", {"npt_equilibration_ps": 0.08, "pdamp_fs": 100.0}),
    ],
)
def test_killed_run_resumes_to_the_same_trajectory(cual, emt, quick, tmp_path, thermostat, extra):
    settings = quick(thermostat=thermostat, checkpoint_interval_fs=60.0, **extra)
    reference = run_md(cual, emt, settings, progress=False)

    path = tmp_path / "md.ckpt.npz"
    kill_step = 70 if "npt_equilibration_ps" not in extra else 50  # 50: inside NpT
    with pytest.raises(_Killed):
        run_md(
            cual,
            emt,
            settings,
            checkpoint_path=path,
            progress=False,
            step_callback=_kill_at(kill_step),
        )
    assert path.exists()  # written at step 60 (or 30 inside NpT), before the kill

    before = emt.n_evaluations
    resumed = run_md(cual, emt, settings, checkpoint_path=path, progress=False)
    done_before_kill = 30 * ((kill_step * 2) // 60)  # last checkpoint step
    assert emt.n_evaluations - before <= settings.n_steps["total"] - done_before_kill + 3
    _same_run(resumed, reference)
    if "npt_equilibration_ps" in extra:
        np.testing.assert_allclose(resumed.npt_mean_cell, reference.npt_mean_cell)

    # a finished checkpoint returns its result without running anything
    before = emt.n_evaluations
    again = run_md(cual, emt, settings, checkpoint_path=path, progress=False)
    assert emt.n_evaluations == before
    _same_run(again, reference)


def test_wall_clock_checkpoints(cual, emt, quick, tmp_path):
    """``checkpoint_wall_s`` writes checkpoints on slow runs between simulation intervals."""
    settings = quick(checkpoint_interval_fs=1e6, checkpoint_wall_s=1e-9)  # i.e. every step
    path = tmp_path / "md.npz"
    with pytest.raises(_Killed):
        run_md(
            cual, emt, settings, checkpoint_path=path, progress=False, step_callback=_kill_at(33)
        )
    before = emt.n_evaluations
    resumed = run_md(cual, emt, settings, checkpoint_path=path, progress=False)
    assert emt.n_evaluations - before == settings.n_steps["total"] - 32 + 1  # +1: forces at resume
    assert resumed.completed
    assert resumed.n_frames == settings.n_frames


def test_failed_run_checkpoint_returns_the_failure(cual, emt, quick, tmp_path):
    squeezed = cual.copy()
    squeezed.set_cell(cual.cell * 0.7, scale_atoms=True)
    settings = quick(min_distance_A=2.0)
    path = tmp_path / "md.npz"
    first = run_md(squeezed, emt, settings, checkpoint_path=path, progress=False)
    second = run_md(squeezed, emt, settings, checkpoint_path=path, progress=False)
    assert second.failure_reason == first.failure_reason is not None
    assert not second.completed


def test_checkpoint_of_another_run_is_refused(cual, emt, quick, tmp_path):
    path = tmp_path / "md.npz"
    run_md(cual, emt, quick(production_ps=0.02), checkpoint_path=path, progress=False)
    with pytest.raises(IonflowInputError, match=r"other settings \(temperature: 500.0 -> 600"):
        run_md(cual, emt, quick(temperature=600, production_ps=0.02), checkpoint_path=path)
    other = cual.copy()
    other[3].symbol = "Al"
    with pytest.raises(IonflowInputError, match="another structure"):
        run_md(other, emt, quick(production_ps=0.02), checkpoint_path=path)
    (tmp_path / "junk.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(IonflowInputError, match="cannot read MD checkpoint"):
        run_md(cual, emt, quick(), checkpoint_path=tmp_path / "junk.npz")


def test_resume_free_settings_may_change(cual, emt, quick, tmp_path):
    settings = quick(checkpoint_interval_fs=60.0)
    path = tmp_path / "md.npz"
    with pytest.raises(_Killed):
        run_md(
            cual, emt, settings, checkpoint_path=path, progress=False, step_callback=_kill_at(70)
        )
    reference = run_md(cual, emt, settings, progress=False)
    other = dataclasses.replace(settings, checkpoint_interval_fs=20.0, checkpoint_wall_s=None)
    _same_run(run_md(cual, emt, other, checkpoint_path=path, progress=False), reference)


def test_checkpoint_of_another_format_version_is_refused(cual, emt, quick, tmp_path):
    from ionflow.core.md.checkpoint import read_checkpoint
    from ionflow.core.npz import write_npz

    path = tmp_path / "md.npz"
    settings = quick(production_ps=0.02)
    run_md(cual, emt, settings, checkpoint_path=path, progress=False)
    arrays, meta = read_checkpoint(path)
    write_npz(path, arrays, {**meta, "version": 0})
    with pytest.raises(IonflowInputError, match="format version 0, expected 1"):
        run_md(cual, emt, settings, checkpoint_path=path, progress=False)
