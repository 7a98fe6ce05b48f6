"""The ceiling: a plain grpcio unary echo server, same thread pool size as a Shangji front.

``python -m bench.echo_server PORT THREADS [aio]``: with ``aio``, the same echo on ``grpc.aio`` (one event
loop thread, no pool), to compare what the two server models cost per call.
"""

import asyncio
import sys
from concurrent import futures

import grpc


def main(port: int, threads: int) -> None:
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(lambda req, ctx: req)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads), handlers=[handler])
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print("echo ready", flush=True)
    server.wait_for_termination()


async def main_aio(port: int) -> None:
    async def echo(req, ctx):
        return req

    handler = grpc.method_handlers_generic_handler("bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)})
    server = grpc.aio.server(handlers=[handler])
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("echo ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    if sys.argv[3:] == ["aio"]:
        asyncio.run(main_aio(int(sys.argv[1])))
    else:
        main(int(sys.argv[1]), int(sys.argv[2]))
