"""Soft Actor-Critic for continuous actions (CleanRL's `sac_continuous_action.py`)."""
