"""`python -m coach.cli` is the same as `coach`."""

from coach.cli.main import main

main()
