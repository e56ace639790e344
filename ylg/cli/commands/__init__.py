"""One module per ``ylg`` verb; each exposes ``COMMANDS``."""
