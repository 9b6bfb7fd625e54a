"""Puzzle environments: task generators and verifiers."""
