"""Satisfaction evaluator drivers, protocol codecs and the simulator (hallapp.devices).

No Qt here: the UI bridges driver events to signals.

- ``framed``: our framed protocol (docs/evaluator-protocol.md): codec, parser.
- ``keycode``: one byte per key, configurable byte → level mapping, presets.
- ``driver``: ``EvaluatorDriver``, a reader thread per port; typed events to
  listeners *on that thread*; reconnects by itself.
- ``simulator``: ``Simulator``, a software evaluator on a pty or a port.
- ``bridge``: ``EvaluatorBridge`` (driver ↔ hallapp.evaluation.EvaluationDesk)
  and ``start_evaluator(config, store)`` which builds all of it from the
  settings, with a simulator in demo mode when no port is configured.
"""
