"""Training data: dataset.parquet by split, context windows cut from ``seq``, torch Datasets."""
