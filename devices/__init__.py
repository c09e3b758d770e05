"""Satisfaction evaluator drivers, protocol codecs and the simulator (hallapp.devices).

No Qt here: the UI bridges driver events to signals.
"""
