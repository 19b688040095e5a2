"""``python -m dnactx`` runs the CLI."""

from .cli import main

main()
