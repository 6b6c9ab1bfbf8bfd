"""What institutions file with their bureau and what the bureau decides and sets, one module per concept:
``filing`` (class filings, results reports and the gates they impose), ``imports`` (offline results from a file
or the API), ``annual`` (annual work reports) and ``rules`` (the province's reporting rules, the yearly
appointment-rate targets). Services check who may act, flush and audit; they never commit."""
