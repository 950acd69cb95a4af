"""Detection inside the service: the stores detectors read through their protocols, the policy that
turns signals into a verdict and label state, and the wiring (detectors/ is the signal library)."""
