"""The REST API (/api/v1/): the web lists' vocabulary (filters, negations, search, sort keys,
columns as fields) for machines, with personal tokens."""
