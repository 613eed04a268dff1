"""Time rejax's PPO on CartPole-v1 with CleanRL's hyperparameters; print JSON seconds.

Run by `bench_rejax.py` with the rejax virtualenv's Python (`.venv-rejax`, rejax 0.1.3 with
gymnax < 1, which rejax needs): `python rejax_ppo.py SEEDS STEPS [--compile-only]`. It imports
nothing of the harness. `REJAX_COMPILATION_CACHE` names a persistent compilation cache directory.
"""

import json
import os
import sys
import time

start = time.perf_counter()

import jax  # noqa: E402  (timed from the interpreter's start)

cache = os.environ.get("REJAX_COMPILATION_CACHE")
if cache:
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
from rejax import get_algo  # noqa: E402

seeds, steps = int(sys.argv[1]), int(sys.argv[2])
cls = get_algo("ppo")
algo = cls.create(env="CartPole-v1", total_timesteps=steps, eval_freq=steps, num_envs=4,
                  num_steps=128, num_epochs=4, num_minibatches=4, learning_rate=2.5e-4,
                  max_grad_norm=0.5, gamma=0.99, gae_lambda=0.95, clip_eps=0.2, ent_coef=0.01,
                  vf_coef=0.5, agent_kwargs={"activation": "tanh"})
keys = jax.random.split(jax.random.PRNGKey(0), seeds)
train = jax.jit(jax.vmap(cls.train, in_axes=(None, 0)))
t = time.perf_counter()
compiled = train.lower(algo, keys).compile()
compile_s = time.perf_counter() - t
if "--compile-only" in sys.argv:
    print(json.dumps({"compile": compile_s, "train": 0.0}))
    sys.exit(0)
t = time.perf_counter()
jax.block_until_ready(compiled(algo, keys))
train_s = time.perf_counter() - t
print(json.dumps({"compile": compile_s, "train": train_s,
                  "in_process": time.perf_counter() - start}))
