"""Trainees' real-name profiles and their integrity pledges."""
