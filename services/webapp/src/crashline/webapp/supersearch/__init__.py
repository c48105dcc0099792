"""Super Search: query-string parameters to a search-engine query and back to the
reference's response shape. Everything here is pure (no I/O) except :mod:`.service`."""
