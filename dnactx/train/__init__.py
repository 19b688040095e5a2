"""Training: one run of any model family on the shared trainer, recorded in the run registry."""
