"""SLURM job scripts for dnactx: rendering with shell quoting, a pinned interpreter, preflight, sbatch."""
