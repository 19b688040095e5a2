"""Statistics for honest decisions: block-bootstrap intervals, paired comparisons, calibration, thresholds, floors."""
