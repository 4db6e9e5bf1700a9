"""ERC-8004 identity, reputation and validation reads (web3 imported lazily)."""
