"""Detectors for media without valid provenance: metadata, watermarks, fingerprints, learned models."""
