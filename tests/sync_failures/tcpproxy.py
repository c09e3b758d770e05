"""A TCP proxy of the tests' own, for "the centre is unreachable" tests.

It sits between a window and the real PostgreSQL server (or any loopback
service) and, on command from the test, passes traffic, refuses new
connections (nothing listens on its port any more), stalls (accepts and
holds every byte without forwarding, as a black-holing NAT does), or cuts
every open connection with a TCP reset, now or once a given number of bytes
has gone towards the server (so a push is cut inside a batch).

Loopback only and bounded: it listens on 127.0.0.1, forwards only to a
loopback address, caps its open connections, and stops with the test (a
context manager; every socket is closed by ``stop``).

One asyncio loop runs in a daemon thread; the control methods are
thread-safe and return once the change is in force.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_CHUNK = 65536


class Mode(enum.Enum):
    PASS = "pass"
    REFUSE = "refuse"
    STALL = "stall"


@dataclass
class Counters:
    accepted: int = 0  # connections accepted (in any mode but REFUSE)
    refused: int = 0  # connections over the cap, reset at once
    cut: int = 0  # connections ended by cut()/cut_after()
    to_server: int = 0  # bytes forwarded towards the server
    to_client: int = 0  # bytes forwarded back


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except OSError:
        return False


class _Pair:
    """One proxied connection: the client's side and the server's side."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.server: asyncio.StreamWriter | None = None
        self.tasks: list[asyncio.Task[None]] = []

    def reset(self) -> None:
        # SO_LINGER 0 makes close() send RST, as a dropped link or a killed
        # middlebox looks to the peer: no orderly FIN, no flushed data.
        for w in (self.client, self.server):
            if w is None:
                continue
            sock = w.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            w.transport.abort()
        for t in self.tasks:
            t.cancel()


class TcpProxy:
    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        listen_port: int = 0,
        max_connections: int = 64,
    ) -> None:
        if not _is_loopback(target_host):
            raise ValueError(f"the test proxy only forwards to loopback, not {target_host!r}")
        self.target = (target_host, target_port)
        self.max_connections = max_connections
        self.counters = Counters()
        self._mode = Mode.PASS
        self._port = listen_port
        self._pairs: set[_Pair] = set()
        self._server: asyncio.base_events.Server | None = None
        self._cut_budget: int | None = None  # bytes to the server left before a cut
        self._after_cut = Mode.PASS
        self._cut_event = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # ------------------------------------------------------------- lifecycle

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen)
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def open_connections(self) -> int:
        return self._call(lambda: len(self._pairs))

    # --------------------------------------------------------------- control

    def passing(self) -> None:
        """Forward traffic (and listen again if refusing)."""
        self._call(lambda: self._set_mode(Mode.PASS))

    def refuse(self) -> None:
        """Stop listening and reset every open connection: connects are refused."""
        self._call(lambda: self._set_mode(Mode.REFUSE))

    def stall(self) -> None:
        """Accept and hold: no byte is forwarded either way until passing()."""
        self._call(lambda: self._set_mode(Mode.STALL))

    def cut(self) -> int:
        """Reset every open connection now; the mode stays. Returns how many."""
        return self._call(self._cut_all)

    def cut_after(self, to_server_bytes: int, *, then: Mode = Mode.PASS) -> None:
        """Once ``to_server_bytes`` more bytes went to the server, cut every
        connection (inside whatever message is passing) and switch to ``then``."""
        self._cut_event.clear()

        def arm() -> None:
            self._cut_budget = to_server_bytes
            self._after_cut = then

        self._call(arm)

    def stall_after(self, to_server_bytes: int) -> None:
        """Once ``to_server_bytes`` more bytes went to the server, stall every
        connection (inside whatever message is passing) until passing(): a
        centre that stops answering with the session up, mid-batch."""
        self._cut_event.clear()

        def arm() -> None:
            self._cut_budget = to_server_bytes
            self._after_cut = Mode.STALL

        self._call(arm)

    def wait_cut(self, timeout: float) -> bool:
        """True once the armed cut_after() has fired."""
        return self._cut_event.wait(timeout)

    # ------------------------------------------------------------- internals

    def _call(self, fn: Callable[[], Any]) -> Any:
        async def run() -> Any:
            result = fn()
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    async def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self._port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._handle, sock=sock, backlog=128)

    async def _shutdown(self) -> None:
        self._cut_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        # Connections still being set up: cancelling them closes their sockets.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in others:
            t.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _set_mode(self, mode: Mode) -> None:
        previous, self._mode = self._mode, mode
        if mode is Mode.REFUSE:
            self._cut_all()
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
                self._server = None
        elif previous is Mode.REFUSE:
            await self._listen()

    def _cut_all(self) -> int:
        pairs = list(self._pairs)
        for p in pairs:
            p.reset()
        self._pairs.clear()
        self.counters.cut += len(pairs)
        return len(pairs)

    async def _finish_cut(self) -> None:
        await self._set_mode(self._after_cut)
        self._cut_event.set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pair = _Pair(writer)
        if self._mode is Mode.REFUSE or len(self._pairs) >= self.max_connections:
            self.counters.refused += 1
            pair.reset()
            return
        self.counters.accepted += 1
        self._pairs.add(pair)
        try:
            s_reader, s_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self._pairs.discard(pair)
            pair.reset()
            return
        if pair not in self._pairs:
            # Cut (or stopped) while the server connection was being made.
            s_writer.transport.abort()
            return
        pair.server = s_writer
        up = asyncio.ensure_future(self._pump(reader, s_writer, pair, to_server=True))
        down = asyncio.ensure_future(self._pump(s_reader, writer, pair, to_server=False))
        pair.tasks = [up, down]
        await asyncio.gather(up, down, return_exceptions=True)
        if pair in self._pairs:
            self._pairs.discard(pair)
            for w in (writer, s_writer):
                with contextlib.suppress(Exception):
                    w.close()

    async def _pump(
        self,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        pair: _Pair,
        *,
        to_server: bool,
    ) -> None:
        while True:
            data = await src.read(_CHUNK)
            if not data:
                # Orderly close from one side: pass the FIN on.
                with contextlib.suppress(OSError):
                    if dst.can_write_eof():
                        dst.write_eof()
                return
            # STALL holds the bytes; they go on, in order, when traffic passes again.
            while self._mode is Mode.STALL:
                await asyncio.sleep(0.02)
            if pair not in self._pairs:
                return
            if (to_server and self._cut_budget is not None and self._after_cut is Mode.STALL
                    and len(data) >= self._cut_budget):
                # stall_after(): forward up to the budget, then hold the rest
                # (and everything after it, both ways) until passing().
                part, data = data[: self._cut_budget], data[self._cut_budget:]
                if part:
                    dst.write(part)
                    self.counters.to_server += len(part)
                    await dst.drain()
                self._cut_budget = None
                self._mode = Mode.STALL
                self._cut_event.set()
                while self._mode is Mode.STALL:
                    await asyncio.sleep(0.02)
                if pair not in self._pairs:
                    return
            if to_server and self._cut_budget is not None:
                if len(data) >= self._cut_budget:
                    # Forward part of the message, then reset: the server sees
                    # a truncated stream, the client a dead connection.
                    part = data[: self._cut_budget]
                    if part:
                        dst.write(part)
                        self.counters.to_server += len(part)
                        with contextlib.suppress(OSError):
                            await dst.drain()
                    self._cut_budget = None
                    # The cut cancels this very task: finish the switch in a
                    # task of its own.
                    self._cut_all()
                    self._loop.create_task(self._finish_cut())
                    return
                self._cut_budget -= len(data)
            dst.write(data)
            if to_server:
                self.counters.to_server += len(data)
            else:
                self.counters.to_client += len(data)
            await dst.drain()


def free_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
