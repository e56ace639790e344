"""The exceptions ylg raises for bad input.

Every error a user can cause by what they type (a pattern expression, a grid, a file)
is a :class:`YlgError`. The command line turns it into a one-line message and exit
code 2; library users can catch it and read the message.

>>> from ylg.errors import PatternError, YlgError
>>> issubclass(PatternError, YlgError) and issubclass(PatternError, ValueError)
True
"""

from __future__ import annotations


class YlgError(ValueError):
    """Base class of every input error ylg reports to its user."""


class PatternError(YlgError):
    """A pattern, one of its step expressions, or the grid it is built on is invalid."""
