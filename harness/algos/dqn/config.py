"""DQN hyperparameters: CleanRL's `dqn.py` defaults."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import model_validator

from harness.algos.hyperparameters import (
    TRACED,
    HiddenSizes,
    Hyperparameters,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    UnitFloat,
)


class DQNConfig(Hyperparameters):
    """Deep Q-Network with a replay buffer and a periodically updated target network."""

    algo: ClassVar[str] = "dqn"

    num_envs: PositiveInt = 1
    """Parallel environments per run."""
    learning_rate: Annotated[PositiveFloat, TRACED] = 2.5e-4
    """Adam learning rate."""
    buffer_size: PositiveInt = 10000
    """Replay buffer capacity in transitions."""
    gamma: Annotated[UnitFloat, TRACED] = 0.99
    """Discount factor."""
    tau: Annotated[UnitFloat, TRACED] = 1.0
    """Target network update rate (1 copies the Q-network's parameters)."""
    target_network_frequency: PositiveInt = 500
    """Environment steps between target network updates."""
    batch_size: PositiveInt = 128
    """Transitions sampled from the replay buffer per gradient step."""
    start_e: Annotated[UnitFloat, TRACED] = 1.0
    """Exploration rate (epsilon) at the first step."""
    end_e: Annotated[UnitFloat, TRACED] = 0.05
    """Exploration rate once the decay is over."""
    exploration_fraction: Annotated[UnitFloat, TRACED] = 0.5
    """Fraction of the training budget over which epsilon decays linearly to end_e."""
    learning_starts: NonNegativeInt = 10000
    """Environment steps before the first gradient step."""
    train_frequency: PositiveInt = 10
    """Steps of every environment copy between gradient steps."""
    hidden_sizes: HiddenSizes = (120, 84)
    """Hidden layer widths of the Q-network (ReLU MLP)."""

    @model_validator(mode="after")
    def _consistent(self) -> DQNConfig:
        if self.batch_size > self.buffer_size:
            raise ValueError(f"batch_size {self.batch_size} exceeds buffer_size "
                             f"{self.buffer_size}")
        if self.steps_per_update > self.buffer_size:
            raise ValueError(
                f"one update adds num_envs {self.num_envs} x train_frequency "
                f"{self.train_frequency} = {self.steps_per_update} transitions, more than "
                f"buffer_size {self.buffer_size}")
        return self

    @property
    def gradient_batch_size(self) -> int:
        """Samples in the batch of each gradient step: `batch_size` drawn from the buffer."""
        return self.batch_size

    @property
    def steps_per_update(self) -> int:
        """Environment steps per run consumed by one update (one gradient step)."""
        return self.num_envs * self.train_frequency
