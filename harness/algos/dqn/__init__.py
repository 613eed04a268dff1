"""DQN (CleanRL's `dqn.py`): epsilon-greedy exploration, replay buffer, target network."""
