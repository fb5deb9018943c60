"""Sensor plugins: the API a plugin is written against (:mod:`.api`), the child process that
runs one (:mod:`.runner`) and the daemon's side that supervises them (:mod:`.host`)."""

from tars_edge.plugins.api import AskError, Sensor, SensorContext

__all__ = ["AskError", "Sensor", "SensorContext"]
