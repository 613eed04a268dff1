"""PPO hyperparameters: CleanRL's `ppo.py` defaults, and `ppo_continuous_action.py`'s."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import model_validator

from harness.algos.hyperparameters import (
    TRACED,
    HiddenSizes,
    Hyperparameters,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    UnitFloat,
)


class PPOConfig(Hyperparameters):
    """Proximal Policy Optimisation (clipped objective, GAE, value clipping), discrete actions."""

    algo: ClassVar[str] = "ppo"

    num_envs: PositiveInt = 4
    """Parallel environments per run."""
    num_steps: PositiveInt = 128
    """Steps per environment in each rollout."""
    learning_rate: Annotated[PositiveFloat, TRACED] = 2.5e-4
    """Adam learning rate (the starting value when annealed)."""
    anneal_lr: bool = True
    """Decay the learning rate linearly to zero over training."""
    gamma: Annotated[UnitFloat, TRACED] = 0.99
    """Discount factor."""
    gae_lambda: Annotated[UnitFloat, TRACED] = 0.95
    """GAE lambda."""
    num_minibatches: PositiveInt = 4
    """Minibatches per epoch."""
    update_epochs: PositiveInt = 4
    """Passes over each rollout."""
    norm_adv: bool = True
    """Normalise advantages per minibatch."""
    clip_coef: Annotated[PositiveFloat, TRACED] = 0.2
    """Surrogate clipping coefficient (also clips the value loss when clip_vloss)."""
    clip_vloss: bool = True
    """Clip the value loss as in the PPO paper's implementation."""
    ent_coef: Annotated[NonNegativeFloat, TRACED] = 0.01
    """Entropy bonus coefficient."""
    vf_coef: Annotated[NonNegativeFloat, TRACED] = 0.5
    """Value loss coefficient."""
    max_grad_norm: Annotated[PositiveFloat, TRACED] = 0.5
    """Global gradient-norm clip."""
    hidden_sizes: HiddenSizes = (64, 64)
    """Hidden layer widths of the actor and of the critic (tanh MLPs)."""
    normalize_observations: bool = False
    """Standardise observations with running statistics, clipped to [-10, 10]."""
    normalize_rewards: bool = False
    """Scale rewards by the running std of the discounted return, clipped to [-10, 10]."""
    bootstrap_truncation: bool = True
    """Bootstrap from the final observation's value where an episode hits its time limit;
    false treats truncation as termination, as CleanRL's scripts do."""

    @model_validator(mode="after")
    def _minibatches_divide_batch(self) -> PPOConfig:
        if self.batch_size % self.num_minibatches:
            raise ValueError(
                f"num_minibatches {self.num_minibatches} does not divide the batch of "
                f"num_envs {self.num_envs} x num_steps {self.num_steps} = {self.batch_size} steps"
            )
        return self

    @property
    def batch_size(self) -> int:
        """Transitions collected per update (num_envs x num_steps)."""
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        """Transitions per gradient step."""
        return self.batch_size // self.num_minibatches

    @property
    def gradient_batch_size(self) -> int:
        """Samples in the batch of each gradient step: a minibatch."""
        return self.minibatch_size

    @property
    def steps_per_update(self) -> int:
        """Environment steps per run consumed by one update."""
        return self.batch_size


class PPOContinuousConfig(PPOConfig):
    """PPO with a diagonal Gaussian policy (CleanRL's `ppo_continuous_action.py`)."""

    algo: ClassVar[str] = "ppo_continuous_action"

    num_envs: PositiveInt = 1
    """Parallel environments per run."""
    num_steps: PositiveInt = 2048
    """Steps per environment in each rollout."""
    learning_rate: Annotated[PositiveFloat, TRACED] = 3e-4
    """Adam learning rate (the starting value when annealed)."""
    num_minibatches: PositiveInt = 32
    """Minibatches per epoch."""
    update_epochs: PositiveInt = 10
    """Passes over each rollout."""
    ent_coef: Annotated[NonNegativeFloat, TRACED] = 0.0
    """Entropy bonus coefficient."""
    normalize_observations: bool = True
    """Standardise observations with running statistics, clipped to [-10, 10]."""
    normalize_rewards: bool = True
    """Scale rewards by the running std of the discounted return, clipped to [-10, 10]."""
