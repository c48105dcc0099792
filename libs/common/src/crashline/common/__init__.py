"""Crashline shared library: what two or more services agree on."""
