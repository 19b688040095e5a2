"""The context matrix: a grid of training runs (sizes × modes × any train option), resumable, summarised."""
