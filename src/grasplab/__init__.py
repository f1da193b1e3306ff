"""grasplab: grasp perception for parallel-jaw grippers.

The package is laid out as the pipeline it implements, each stage importing only earlier ones:
``core`` → ``objects`` → ``scenes`` → ``labels`` → ``data`` → ``models`` → ``training`` →
``detection`` → ``evaluation`` / ``execution``; ``viz`` and ``cli`` sit at the edge.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
