"""sbatch templates for ``dnactx submit`` (shipped inside the wheel as ``dnactx.jobs``)."""
