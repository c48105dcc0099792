"""Symbols: the layout of Breakpad symbol files, checking uploads of them, the symbol store
(crash storage and a PostgreSQL catalog), and reprocessing the crashes that missed them."""

from crashline.common.symbols.archive import Limits, Member, read_upload
from crashline.common.symbols.layout import SymbolError, SymbolId, module_symbol, parse_path

__all__ = ["Limits", "Member", "SymbolError", "SymbolId", "module_symbol", "parse_path",
           "read_upload"]
