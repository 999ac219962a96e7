"""A TCP proxy between a desk and the service that drops or stalls connections at random,
or refuses every connection while ``blocked`` (the desk's network is down)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field


@dataclass
class Chaos:
    """What may happen to each chunk of bytes on its way: the connection cut there, part
    of the chunk delivered (``drop``), or a pause of ``stall_seconds`` first (``stall``)."""

    drop: float = 0.0
    stall: float = 0.0
    stall_seconds: tuple[float, float] = (0.5, 3.0)
    seed: int = 5
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


class ChaosProxy:
    """Listens on 127.0.0.1 and forwards to ``target`` under ``chaos``."""

    def __init__(self, target_host: str, target_port: int, chaos: Chaos | None = None) -> None:
        self.target = (target_host, target_port)
        self.chaos = chaos or Chaos()
        self.blocked = False
        self.port = 0
        self.connections = 0
        self.dropped = 0
        self.stalled = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> ChaosProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def block(self) -> None:
        """Refuse new connections and cut the open ones (a pulled network cable)."""
        self.blocked = True
        for pipe in list(self._pipes):
            pipe.cancel()

    def unblock(self) -> None:
        self.blocked = False

    async def close(self) -> None:
        self.block()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.blocked:
            writer.transport.abort()
            return
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        copies = {
            asyncio.ensure_future(self._copy(reader, up_writer)),
            asyncio.ensure_future(self._copy(up_reader, writer)),
        }
        try:
            await asyncio.wait(copies, return_when=asyncio.FIRST_EXCEPTION)
        except asyncio.CancelledError:
            pass
        finally:
            self._pipes.discard(task)
            for copy in copies:
                copy.cancel()
            await asyncio.gather(*copies, return_exceptions=True)
            for w in (writer, up_writer):
                w.transport.abort()

    async def _copy(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        chaos, rng = self.chaos, self.chaos.rng
        while True:
            data = await source.read(65536)
            if not data:
                with contextlib.suppress(OSError):
                    sink.write_eof()
                return
            fate = rng.random()
            if fate < chaos.drop:
                self.dropped += 1
                sink.write(data[: rng.randrange(len(data))])
                with contextlib.suppress(ConnectionError):
                    await sink.drain()
                raise _Cut
            if fate < chaos.drop + chaos.stall:
                self.stalled += 1
                await asyncio.sleep(rng.uniform(*chaos.stall_seconds))
            sink.write(data)
            await sink.drain()


class _Cut(Exception):
    """The proxy cuts this connection now."""
