"""Data: torch datasets, augmentation and sharding of grasplab datasets."""
