"""PPO (CleanRL's `ppo.py`): clipped surrogate objective, GAE, value clipping."""
