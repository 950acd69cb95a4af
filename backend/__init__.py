"""avlabel: labelling and verification of AI-generated audio, video and images."""

__version__ = "0.1.0"
