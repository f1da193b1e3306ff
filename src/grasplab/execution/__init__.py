"""Execution: the simulated gripper, grasp execution and the dynamic grasping loop."""
