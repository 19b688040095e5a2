"""Analysis of finished runs: per-run diagnosis (findings, verdict, remedies) and the study report."""
