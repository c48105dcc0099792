"""The collector's gunicorn worker: gevent, with a deadline on every request head.

Why gevent: a client that sends its report a byte at a time costs a green thread (a few KiB)
instead of an OS thread, so hundreds of slow senders leave the worker free for everyone else;
Falcon, the WSGI app and every library we call stay as they are (Antenna ran this way for
years). What would block the event loop: CPU (a few ms per report: parsing, inflating,
hashing). Local-disk writes and their fsyncs would too, so they run in native threads
(``app.storage_executor``); network waits (RabbitMQ confirms, S3) yield to other requests.

gunicorn's gevent worker already bounds reading a kept-alive connection's next request
head by the keep-alive timeout, and nothing else; here the head of every request (first
one included) must arrive within the keep-alive idle time plus ``header_timeout``. The
body has its own whole-body deadline (:mod:`crashline.collector.deadline`).
"""

from __future__ import annotations

import gevent
from gunicorn.workers.ggevent import GeventWorker

from crashline.collector.settings import get_settings


class CollectorWorker(GeventWorker):
    def timeout_ctx(self):
        settings = get_settings()
        # False: on expiry the head read simply ends and gunicorn closes the connection.
        return gevent.Timeout(self.cfg.keepalive + settings.collector_header_timeout, False)
