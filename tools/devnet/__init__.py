"""Local chain for the ERC-8004 work: anvil plus the project's own minimal registries (see devnet.py)."""
