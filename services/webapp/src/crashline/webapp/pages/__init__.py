"""The webapp's HTML pages: server-rendered with Jinja2, read through the same services as the
API (Super Search, crash service, catalog, permissions and redaction)."""
