"""DFT labelling: label parsing and the fake VASP used in tests.

Input sets and custodian come from atomate2.
"""
