"""Credit policy lab: an agent-based model of credit-based commercial supervision.

Public API: load a scenario, run it, summarise it; or drive it as a function of named levers and
uncertainties (:func:`evaluate`, :func:`as_ema_model` for EMA Workbench).
"""

from sim.errors import InputError, SimError
from sim.experiment.interface import as_ema_model, evaluate
from sim.experiment.runner import RunResult, run_scenario, write_outputs
from sim.model.schema import Scenario, load_scenario

__all__ = ["InputError", "SimError", "RunResult", "Scenario", "load_scenario", "run_scenario", "write_outputs",
           "evaluate", "as_ema_model"]
__version__ = "0.1.0"
