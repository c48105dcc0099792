from browser_support import browser, site, visitor, visitor_as  # noqa: F401  (fixtures)
