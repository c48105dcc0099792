from web_support import search  # noqa: F401  (fixture)
