"""A TCP forwarder that tests can switch off and on, to take a backend "down" for one
worker without touching the shared service behind it. It counts the connections it was
asked for, and can hold them all until a number of them are open at once (to see how many
connections a client opens when all its threads call at the same moment).

Three ways to fail, as clients see them: ``down()`` accepts and hangs up (a service that
crashes on every request), ``refuse()`` closes the port (a stopped service: connection
refused), ``stall()`` forwards nothing in either direction while connections stay open (a
network partition: clients wait for their own timeouts). ``up()`` ends any of them."""

from __future__ import annotations

import asyncio
import contextlib
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1", *,
                 hold_until: int = 0, hold_at_most: float = 10.0):
        """``hold_until``: forward nothing until that many connections are open (or
        ``hold_at_most`` seconds have passed, so a client that never opens them still ends)."""
        self.target = (target_host, target_port)
        self.host = host
        self.port = 0
        self.enabled = True
        self.listening = True
        self.opened = 0  # connections accepted, ever
        self.hold_until = hold_until
        self.hold_at_most = hold_at_most
        self._gate: asyncio.Event | None = None
        self._flowing: asyncio.Event | None = None  # cleared while stalled
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="tcp-proxy")
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> TcpProxy:
        self._thread.start()
        self._ready.wait(5)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._gate = asyncio.Event()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, self.host, 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.enabled:
            writer.close()  # "down": accept and hang up at once
            return
        self.opened += 1
        if self.opened >= self.hold_until:
            self._gate.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._gate.wait(), self.hold_at_most)
        await self._flowing.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))

    def _close_all(self) -> None:
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()

    def down(self) -> None:
        """Refuse new connections and cut the open ones."""
        self.enabled = False
        self._loop.call_soon_threadsafe(self._close_all)

    def refuse(self) -> None:
        """Close the port (connections are refused) and cut the open connections."""
        self.down()
        self.listening = False
        self._call(self._close_server)

    def stall(self) -> None:
        """Keep every connection open and accept new ones, but forward nothing."""
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def up(self) -> None:
        self.enabled = True
        if not self.listening:
            self._call(self._listen_again)
            self.listening = True
        self._loop.call_soon_threadsafe(self._flowing.set)

    def _call(self, coroutine_function) -> None:
        """Run a coroutine on the proxy's loop and wait for it."""
        asyncio.run_coroutine_threadsafe(coroutine_function(), self._loop).result(10)

    async def _close_server(self) -> None:
        self._server.close()  # no wait_closed(): it would wait for stalled connections

    async def _listen_again(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port,
                                                  reuse_address=True)

    def stop(self) -> None:
        self.down()
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
