"""pcc: a compiler toolkit for probabilistic circuits."""

__version__ = "0.1.0"
