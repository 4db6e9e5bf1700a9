"""The pure strategy core: models, money math, fees, book walks, sizing, edge, rules, arbitrage.

No I/O and no implicit clocks here (pass ``now``). Imports nothing of ours outside ``domain``.
"""
