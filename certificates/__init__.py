"""Completion certificates: completion checks, issuing and numbering, signing, rendering (PNG/PDF),
public verification (online and offline), suspension and revocation."""
