"""Network workload, asyncio and uvloop peers: the servers bench/net_client
and wrk load (bench/README.md, workload 8).

    /usr/bin/python3 asyncio_net.py asyncio|uvloop streams|protocol|http HOST PORT

    streams   echo with asyncio streams: start_server, reader.read(65536),
              writer.write, await writer.drain()
    protocol  echo with an asyncio.Protocol: data_received writes the data
              back; pause_writing/resume_writing pause and resume reading
    http      HTTP/1.1 keep-alive "Hello, World!" as an asyncio.Protocol,
              the response and parsing rule of bench/net_http.h (a request
              ends at its first blank line, no bodies; pipelined requests
              are answered in order with one write)

Prints "listening HOST PORT" (PORT 0: the kernel picks one) as its first
line, serves until SIGTERM or SIGINT, and exits 0. Every server listens with
a backlog of 4096 like the C ones; asyncio and uvloop set TCP_NODELAY on
accepted TCP connections themselves. Run with Debian's /usr/bin/python3
(python3-uvloop).
"""
import asyncio
import signal
import sys

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"
MAX_HEAD = 65536  # a longer unfinished request closes the connection
BACKLOG = 4096


async def echo_stream(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass  # the client reset the connection
    finally:
        writer.close()


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    # Flow control: stop reading while the write buffer is above its high
    # water mark (the 1 GiB stream).
    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()


class HttpProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.kept = b""  # the unfinished request so far

    def data_received(self, data):
        if self.kept:
            data = self.kept + data
        at = k = 0
        while True:
            end = data.find(b"\r\n\r\n", at)
            if end < 0:
                break
            at = end + 4
            k += 1
        self.kept = data[at:] if at < len(data) else b""
        if k:
            self.transport.write(RESPONSE if k == 1 else RESPONSE * k)
        if len(self.kept) > MAX_HEAD:
            self.transport.close()

    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()


async def serve(kind, host, port):
    loop = asyncio.get_running_loop()
    if kind == "streams":
        server = await asyncio.start_server(echo_stream, host, port, backlog=BACKLOG)
    else:
        proto = EchoProtocol if kind == "protocol" else HttpProtocol
        server = await loop.create_server(proto, host, port, backlog=BACKLOG)
    name = server.sockets[0].getsockname()
    print("listening %s %d" % (name[0], name[1]), flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("asyncio", "uvloop") or \
            sys.argv[2] not in ("streams", "protocol", "http"):
        sys.exit(__doc__)
    system, kind, host, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if system == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    loop.run_until_complete(serve(kind, host, port))
    # Connections still open are dropped with the process: exit at once.
    sys.stdout.flush()


if __name__ == "__main__":
    main()
