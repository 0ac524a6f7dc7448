"""Experiments on the model: replicated runs, batches, the results store, provenance and statistics.

Imports :mod:`sim.model` and :mod:`sim.errors`, never :mod:`sim.present` or :mod:`sim.cli`
(``tests/test_layers.py``).
"""
