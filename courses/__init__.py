"""Programmes per tier, courses and lessons, classes (培训班) with their sessions, enrolment and attendance."""
