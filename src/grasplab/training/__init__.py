"""Training: losses, loops, contrastive objectives and checkpoints."""
