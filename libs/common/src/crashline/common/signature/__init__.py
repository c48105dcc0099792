"""Crash signatures: the grouping key that turns many crash reports into one bug.

Follows the Socorro algorithm (normalised frames walked through sentinel, irrelevant and prefix
lists, then decorating rules), with the lists as data files we can replace per product.
"""

from .convert import crash_data_from_processed_crash, crash_data_from_stackwalker_json
from .generator import SignatureGenerator, default_generator, generate_signature
from .result import SignatureResult
from .siglists import DEFAULT_LISTS_DIR, SignatureListError, SignatureLists, load_lists

__all__ = [
    "DEFAULT_LISTS_DIR",
    "SignatureGenerator",
    "SignatureListError",
    "SignatureLists",
    "SignatureResult",
    "crash_data_from_processed_crash",
    "crash_data_from_stackwalker_json",
    "default_generator",
    "generate_signature",
    "load_lists",
]
