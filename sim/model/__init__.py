"""The model: vocabulary, schema, rules, the merchant kernel, parameters, engines and metrics.

The lowest layer of :mod:`sim`: it imports nothing from :mod:`sim.experiment`, :mod:`sim.present` or
:mod:`sim.cli` (``tests/test_layers.py`` checks it).
"""
