"""Accord's domain core: plain Python, no framework imports.

Accounts, stages, money, plans, promises and conversations live here. Channels, the dialogue engine, the clock
and storage are reached only through the ports in :mod:`core.ports`.
"""
