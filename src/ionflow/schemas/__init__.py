"""Pydantic documents stored in the JobStore, one module per job family.

``hops`` (enumeration, screen summary), ``neb`` (one NEB), ``md`` (one MD run),
``diffusion`` (D at one temperature, the Arrhenius fit), ``arrays`` (compact arrays).
"""
