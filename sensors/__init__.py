"""Built-in sensor plugins for TARS Edge (import name ``tars_edge_sensors``)."""
