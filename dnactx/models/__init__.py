"""Models: logistic regression on k-mer counts, a compact CNN, and Hugging Face encoders with a shared head."""
