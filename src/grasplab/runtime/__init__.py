"""Infrastructure shared by every stage: the job runner and its engines, run files and configs.

``grasplab.runtime`` sits beside the pipeline, not in it: any stage may import it, and it imports
no stage (only the standard library, numpy, PyYAML and, lazily, optional engines such as Ray).
"""
