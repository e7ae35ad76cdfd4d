"""Node faults: an upgrade's drain (any cluster), and a node hung or lost outright (the embedded
cluster's workers, whose machines the harness owns)."""
