"""Scheduled jobs: a registry, recorded runs, and a lease that keeps them in exactly one process."""
