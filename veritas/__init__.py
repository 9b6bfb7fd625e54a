"""veritas-rl: verifiable logic-puzzle environments and verl adapters for RL fine-tuning."""
__version__ = "0.1.0"
