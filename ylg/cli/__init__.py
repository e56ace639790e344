"""The ``ylg`` command line (click). Each verb lives in ``ylg.cli.commands``."""
