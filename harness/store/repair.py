"""Make a run directory trainable again: damaged files are moved aside, never deleted.

Run by the lease holder before it trains a run. A finished run whose data files are intact is
left alone; one whose data files are damaged is retrained from scratch, its old files kept in
`damaged/`. An unfinished run resumes from its checkpoint when the checkpoint and every chunk
before it read back, else it restarts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.store.checkpoint import Checkpoint
from harness.store.damage import DamagedFile
from harness.store.record import RunStatus
from harness.store.tables import read_arrow
from harness.store.writer import RunWriter


@dataclass
class Repair:
    """What repairing a run found."""

    done: bool = False
    """The run is finished and its data files are intact: nothing to train."""
    status: dict[str, Any] = field(default_factory=dict)
    """Its stored status after the repair (`{}` when the status file was damaged)."""
    notes: list[str] = field(default_factory=list)
    """One line per file moved aside."""


def _move_aside(writer: RunWriter, repair: Repair, damage: DamagedFile) -> None:
    """Move the damaged file aside (or, when it is missing, just record that)."""
    if not damage.path.exists():
        writer.record_damage(damage.path, damage.problem)
        repair.notes.append(str(damage))
        return
    moved = writer.quarantine(damage.path, damage.problem)
    repair.notes.append(f"{damage}; moved to {moved.relative_to(writer.paths.dir)}")


def repair_run(writer: RunWriter, config: dict[str, Any], suite: str) -> Repair:
    """Check every file of the run against what it must be, moving damaged ones aside."""
    paths, record, repair = writer.paths, writer.record, Repair()
    writer.remove_temporaries()
    for read in (record.metadata, record.config):
        try:
            read()
        except DamagedFile as damage:
            _move_aside(writer, repair, damage)
    expected = {"suite": suite, "run_id": paths.run_id, **config}
    stored = record.config()
    if stored is not None and stored != expected:
        _move_aside(writer, repair, DamagedFile(paths.config, "is not this run's config"))
    if stored is None and paths.status.exists():
        writer.record_damage(paths.config, "is missing")
        repair.notes.append(f"{paths.config.name} is missing; written again from the suite")
    writer.write_config(config, suite)
    try:
        repair.status = record.status()
    except DamagedFile as damage:
        _move_aside(writer, repair, damage)
    if repair.status.get("status") == RunStatus.DONE:
        try:
            record.check_data(repair.status)
            repair.done = True
            return repair
        except DamagedFile as damage:
            _move_aside(writer, repair, damage)
            repair.notes.append("the finished run is trained again")
    if repair.status.get("status") in (None, RunStatus.DONE):
        for data in (paths.metrics, paths.episodes, paths.legacy_metrics):
            if data.exists():
                _move_aside(writer, repair, DamagedFile(data, "belongs to a run being retrained"))
        repair.status = {}
    return repair


def resumable_checkpoint(writer: RunWriter) -> Checkpoint | None:
    """The run's checkpoint if it and every chunk it follows read back; else None, with the
    damaged file moved aside (the caller restarts the run)."""
    paths = writer.paths
    try:
        checkpoint = writer.record.checkpoint()
    except DamagedFile as damage:
        writer.quarantine(damage.path, damage.problem)
        return None
    if checkpoint is None:
        return None
    for index in range(checkpoint.chunks_done):
        for path in (paths.chunk(index), paths.episode_chunk(index)):
            try:
                read_arrow(path)
            except DamagedFile as damage:
                if path.exists():
                    writer.quarantine(damage.path, damage.problem)
                return None
    return checkpoint
