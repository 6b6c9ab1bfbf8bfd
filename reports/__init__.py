"""Reporting to the regulator (报备): class filings, results reports, annual work reports, offline-result
imports, and the bureau's statistics against its targets."""
