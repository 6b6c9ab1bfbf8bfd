"""Regions (GB/T 2260), regulators, training institutions and enterprises."""
