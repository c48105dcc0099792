"""The JSON API under ``/api/<Name>/``."""
