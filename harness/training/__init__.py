"""The shared training core: rollouts, the chunked vmapped program, and the job loop."""
