"""Provenance: package-state hash, required versions, and no secret ever recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from harness.store import provenance
from harness.store.provenance import host_provenance, package_state, relevant_environment

MARKER = "marker-value-do-not-record-7f3a"


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    """Forget cached package state before and after a test that fakes the installed set."""
    package_state.cache_clear()
    yield
    package_state.cache_clear()


def _fake_distributions(*pairs: tuple[str, str]) -> list[SimpleNamespace]:
    return [SimpleNamespace(metadata={"Name": name}, version=version) for name, version in pairs]


def test_package_state_hash_is_stable_within_a_process() -> None:
    first = package_state()
    assert first == package_state()
    package_state.cache_clear()
    assert package_state() == first
    assert len(first["sha256"]) == 64 and int(first["sha256"], 16) >= 0
    assert first["count"] > 10


def test_package_state_changes_with_the_set_of_distributions(
        monkeypatch: pytest.MonkeyPatch, fresh_cache: None) -> None:
    states = []
    for installed in ([("jax", "0.10.2"), ("Flax", "0.12.8")],
                      [("flax", "0.12.8"), ("jax", "0.10.2")],
                      [("jax", "0.10.1"), ("flax", "0.12.8")],
                      [("jax", "0.10.2"), ("flax", "0.12.8"), ("six", "1.17.0")]):
        monkeypatch.setattr(provenance.metadata, "distributions",
                            lambda installed=installed: _fake_distributions(*installed))
        package_state.cache_clear()
        states.append(package_state())
    assert states[0] == states[1], "order and name case do not matter"
    assert states[2]["sha256"] != states[0]["sha256"], "a changed version changes the hash"
    assert states[3]["sha256"] != states[0]["sha256"], "an added package changes the hash"
    assert [s["count"] for s in states] == [2, 2, 2, 3]


def test_required_packages_and_facts_are_recorded() -> None:
    host = host_provenance()
    for name in ("rl-harness", "jax", "jaxlib", "flax", "optax", "gymnax", "gymnasium", "wandb",
                 "submitit"):
        assert host["packages"][name], name
    assert host["python"].count(".") == 2
    assert host["package_state"] == package_state()
    assert set(host["git"]) == {"commit", "dirty"} and host["host"]


@pytest.mark.parametrize("name", ["WANDB_API_KEY", "MY_SECRET_TOKEN", "XLA_PASSWORD",
                                  "JAX_API_KEY", "RAY_REDIS_PASSWORD", "JAX_auth_header",
                                  "SLURM_ARRAY_CREDENTIALS", "XLA_PRIVATE_CERT"])
def test_no_secret_is_recorded(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, MARKER)
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    monkeypatch.setenv("RAY_ADDRESS", f"ray://user:{MARKER}@head:10001")
    environment = relevant_environment()
    assert environment["XLA_FLAGS"] == "--xla_cpu_enable_fast_math=false"
    assert MARKER not in json.dumps(environment)
    assert MARKER not in json.dumps(host_provenance())


def test_secrets_stay_out_even_under_a_future_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provenance, "ENV_PREFIXES", (*provenance.ENV_PREFIXES, "WANDB_", "MY_"))
    monkeypatch.setenv("WANDB_API_KEY", MARKER)
    monkeypatch.setenv("MY_SECRET_TOKEN", MARKER)
    monkeypatch.setenv("WANDB_MODE", "offline")
    environment = relevant_environment()
    assert environment["WANDB_MODE"] == "offline"
    assert MARKER not in json.dumps(environment)
