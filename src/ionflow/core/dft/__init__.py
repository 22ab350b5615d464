"""DFT labelling: label parsing and the fake VASP used in tests (input sets and custodian come from atomate2)."""
