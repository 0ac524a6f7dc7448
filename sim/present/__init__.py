"""What people see: sentences in Chinese and English, figures, reports, the explorer.

Imports :mod:`sim.model` and :mod:`sim.experiment`, never :mod:`sim.cli` (``tests/test_layers.py``).
"""
