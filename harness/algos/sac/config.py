"""SAC hyperparameters: CleanRL's `sac_continuous_action.py` defaults."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import model_validator

from harness.algos.hyperparameters import (
    TRACED,
    HiddenSizes,
    Hyperparameters,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    UnitFloat,
)


class SACConfig(Hyperparameters):
    """Soft Actor-Critic: twin soft Q critics, a tanh-squashed Gaussian actor, tuned entropy."""

    algo: ClassVar[str] = "sac_continuous_action"

    num_envs: PositiveInt = 1
    """Parallel environments per run."""
    buffer_size: PositiveInt = 1_000_000
    """Replay buffer capacity in transitions."""
    gamma: Annotated[UnitFloat, TRACED] = 0.99
    """Discount factor."""
    tau: Annotated[UnitFloat, TRACED] = 0.005
    """Polyak coefficient of the target critics' soft update."""
    batch_size: PositiveInt = 256
    """Transitions per gradient step."""
    learning_starts: NonNegativeInt = 5000
    """Global steps of uniformly random actions; gradient steps start after this many."""
    policy_lr: Annotated[PositiveFloat, TRACED] = 3e-4
    """Adam learning rate of the actor."""
    q_lr: Annotated[PositiveFloat, TRACED] = 1e-3
    """Adam learning rate of the critics (and of the entropy coefficient when autotuned)."""
    policy_frequency: PositiveInt = 2
    """Updates between delayed actor updates; each time, this many actor updates are made."""
    target_network_frequency: PositiveInt = 1
    """Updates between soft updates of the target critics."""
    alpha: Annotated[NonNegativeFloat, TRACED] = 0.2
    """Entropy coefficient (used only when autotune is off)."""
    autotune: bool = True
    """Tune the entropy coefficient towards a target entropy of -action_dim."""
    hidden_sizes: HiddenSizes = (256, 256)
    """Hidden layer widths of the actor and of each critic (ReLU MLPs)."""

    @model_validator(mode="after")
    def _consistent(self) -> SACConfig:
        if self.batch_size > self.buffer_size:
            raise ValueError(f"batch_size {self.batch_size} exceeds buffer_size "
                             f"{self.buffer_size}: a minibatch must fit in the replay buffer")
        if self.num_envs > self.buffer_size:
            raise ValueError(f"num_envs {self.num_envs} exceeds buffer_size {self.buffer_size}: "
                             "one step of every environment copy must fit in the replay buffer")
        return self

    @property
    def gradient_batch_size(self) -> int:
        """Samples in the batch of each gradient step: `batch_size` drawn from the buffer."""
        return self.batch_size

    @property
    def steps_per_update(self) -> int:
        """Environment steps per run consumed by one update (one step of every copy)."""
        return self.num_envs
