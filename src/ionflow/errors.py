"""Exceptions raised by ionflow for bad input or failed calculations."""

from __future__ import annotations


class IonflowError(Exception):
    """Base class of every ionflow error."""


class IonflowInputError(IonflowError, ValueError):
    """The input (structure, file, option) cannot be used; the message names the problem."""
