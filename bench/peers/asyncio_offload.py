"""asyncio and uvloop peer of bench/offload.c (issue 4): tiny jobs on a
4-thread ThreadPoolExecutor, awaited through loop.run_in_executor.

    /usr/bin/python3 asyncio_offload.py asyncio|uvloop batch|seq [N]

    batch  N jobs submitted, then one asyncio.gather
    seq    one job at a time, awaited before the next is submitted

Prints one JSON line per round (fresh, then warm: the same work again in the
same loop and executor), with the fields of bench/bench.h. Run with Debian's
/usr/bin/python3, which has python3-uvloop.
"""
import asyncio
import concurrent.futures
import json
import sys
import time


def tiny(i):
    return i


async def batch(loop, pool, n):
    futs = [loop.run_in_executor(pool, tiny, i) for i in range(n)]
    return sum(await asyncio.gather(*futs))


async def seq(loop, pool, n):
    total = 0
    for i in range(n):
        total += await loop.run_in_executor(pool, tiny, i)
    return total


async def main_async(system, variant, n):
    loop = asyncio.get_running_loop()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
    work = batch if variant == "batch" else seq
    for mode in ("fresh", "warm"):
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        total = await work(loop, pool, n)
        wall, cpu = time.perf_counter_ns() - t0, time.process_time_ns() - c0
        if total != n * (n - 1) // 2:
            raise SystemExit("wrong sum")
        print(json.dumps({"workload": "offload", "system": system, "variant": variant, "mode": mode,
                          "n": n, "threads": 4, "ns_per_op": wall / n, "cpu_ns_per_op": cpu / n,
                          "wall_s": wall / 1e9}), flush=True)
    pool.shutdown(wait=True)


def main():
    system = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    variant = sys.argv[2] if len(sys.argv) > 2 else "batch"
    n = int(sys.argv[3]) if len(sys.argv) > 3 else (20000 if variant == "seq" else 100000)
    if system == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(main_async(system, variant, n))


if __name__ == "__main__":
    main()
