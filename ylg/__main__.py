"""``python -m ylg`` runs the command line (also what ``torchrun -m ylg`` starts)."""

from ylg.cli.main import main

if __name__ == "__main__":
    main()
