"""What the processor and the bug job record in PostgreSQL about products, versions,
signatures and bugs, read for the API and the pages alike."""

from __future__ import annotations

from collections.abc import Sequence

from crashline.common.database import Database

_BUGS_OF_SIGNATURES = (
    "SELECT DISTINCT bug_id, signature FROM bug_associations WHERE bug_id IN "
    "(SELECT bug_id FROM bug_associations WHERE signature = ANY(%s)) ORDER BY bug_id, signature")


class Catalog:
    def __init__(self, db: Database):
        self.db = db

    def _query(self, sql: str, args: tuple) -> list[dict]:
        with self.db.transaction() as cur:  # DatabaseError: the app answers 503
            cur.execute(sql, args)
            return cur.fetchall()

    def products(self) -> list[dict]:
        """``[{name, sort_order, first_seen}]`` in display order."""
        return self._query("SELECT name, sort_order, first_seen FROM products "
                           "ORDER BY sort_order, name", ())

    def product_versions(self, products: Sequence[str] | None = None,
                         channels: Sequence[str] | None = None,
                         active_days: int | None = None) -> list[dict]:
        """``[{product, version, release_channel, first_date, last_date}]``, per product the
        most recently seen first."""
        where, args = ["TRUE"], []
        if products:
            where.append("product = ANY(%s)")
            args.append(list(products))
        if channels:
            where.append("release_channel = ANY(%s)")
            args.append(list(channels))
        if active_days:
            where.append("last_date >= now() - make_interval(days => %s)")
            args.append(active_days)
        return self._query(
            "SELECT product, version, release_channel, first_date, last_date "
            f"FROM product_versions WHERE {' AND '.join(where)} "
            "ORDER BY product, last_date DESC, version DESC LIMIT 10000", tuple(args))

    def signature_first_dates(self, signatures: Sequence[str]) -> list[dict]:
        """``[{signature, first_date, first_build}]`` of the known ones."""
        return self._query("SELECT signature, first_date, first_build FROM signatures "
                           "WHERE signature = ANY(%s) ORDER BY signature", (list(signatures),))

    def bugs_of_signatures(self, signatures: Sequence[str]) -> list[dict]:
        """``[{bug_id, signature}]``: the bugs of ``signatures``, with every signature on
        those bugs."""
        return self._query(_BUGS_OF_SIGNATURES, (list(signatures),))

    def signatures_of_bugs(self, bug_ids: Sequence[int]) -> list[dict]:
        return self._query("SELECT bug_id, signature FROM bug_associations "
                           "WHERE bug_id = ANY(%s) ORDER BY bug_id, signature", (list(bug_ids),))
