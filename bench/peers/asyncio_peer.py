"""asyncio and uvloop peers of the libaio benchmarks (one file, every workload).

    /usr/bin/python3 asyncio_peer.py asyncio|uvloop WORKLOAD VARIANT [N]

    spawn     ret|yield      await gather(*[f(i) for i in range(N)]); f returns i
                             at once, or after `await asyncio.sleep(0)` (yield)
    pingpong  futures        two tasks hand a counter through futures N times
    timers    0-1ms|0-1000ms N loop.call_later, delays uniform in the range
    callbacks batch|chain    N loop.call_soon, queued at once or each the next
    pending   own|shared     N tasks awaiting a future that never completes:
                             RSS delta per task
    lock      handoff        two tasks: `async with lock: count; sleep(0)`,
                             N handoffs
    semaphore 10             N tasks: `async with Semaphore(10): sleep(0)`
    queue     1|1000         a producer puts N items into a Queue(maxsize),
                             a consumer gets them
    group     ret|yield      async with TaskGroup() as tg: tg.create_task(f(i))
                             for i in range(N) (f as for spawn)

Each prints one JSON line with the same fields as bench/bench.h. Timing is
time.perf_counter_ns / process_time_ns around the hot part only (inside the
running loop); faults from getrusage; peak RSS is VmHWM. Run with Debian's
/usr/bin/python3 (it has python3-uvloop); the cyclic GC is left on, as a
program would run.
"""
import asyncio
import json
import random
import resource
import sys
import time


def peak_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def rss_bytes():
    import os
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Mark:
    def start(self):
        self.flt = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        self.cpu = time.process_time_ns()
        self.wall = time.perf_counter_ns()
        return self

    def stop(self):
        wall = time.perf_counter_ns()
        cpu = time.process_time_ns()
        flt = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        self.wall, self.cpu, self.flt = wall - self.wall, cpu - self.cpu, flt - self.flt
        return self


def emit(system, workload, variant, n, m, **extra):
    d = {"workload": workload, "system": system, "variant": variant, "mode": "fresh", "n": n,
         "ns_per_op": m.wall / n, "cpu_ns_per_op": m.cpu / n, "wall_s": m.wall / 1e9,
         "faults": m.flt, "peak_kib": peak_kib()}
    d.update(extra)
    print(json.dumps(d), flush=True)


# ---- 1. spawn-gather ----
async def f_ret(i):
    return i


async def f_yield(i):
    await asyncio.sleep(0)
    return i


async def spawn(variant, n):
    fn = f_yield if variant == "yield" else f_ret
    m = Mark().start()
    res = await asyncio.gather(*[fn(i) for i in range(n)])
    m.stop()
    assert sum(res) == n * (n - 1) // 2
    return m, {}


# ---- 9. task group spawn + join ----
async def group(variant, n):
    fn = f_yield if variant == "yield" else f_ret
    m = Mark().start()
    async with asyncio.TaskGroup() as tg:
        for i in range(n):
            tg.create_task(fn(i))
    m.stop()
    return m, {}


# ---- 2. ping-pong ----
async def pingpong(variant, n):
    loop = asyncio.get_running_loop()
    inbox = [loop.create_future(), loop.create_future()]

    async def player(me):
        while True:
            v = await inbox[me]
            if v >= n:
                return
            inbox[me] = loop.create_future()
            inbox[1 - me].set_result(v + 1)
            if v + 1 >= n:
                return

    a = asyncio.ensure_future(player(0))
    b = asyncio.ensure_future(player(1))
    m = Mark().start()
    inbox[0].set_result(1)
    await a
    await b
    m.stop()
    return m, {}


# ---- 3. timers ----
async def timers(variant, n):
    loop = asyncio.get_running_loop()
    max_s = (1.0 if variant == "0-1000ms" else 0.001)
    rnd = random.Random(42)
    delays = [rnd.random() * max_s for _ in range(n)]  # set-up, not timed
    done = loop.create_future()
    state = {"fired": 0, "last": 0}

    def fire():
        state["fired"] += 1
        if state["fired"] == n:
            state["last"] = time.perf_counter_ns()
            done.set_result(None)

    m = Mark().start()
    t0 = m.wall
    call_later = loop.call_later
    for d in delays:
        call_later(d, fire)
    arm_end = time.perf_counter_ns()
    await done
    m.stop()
    return m, {"arm_ns": (arm_end - t0) / n, "total_s": (state["last"] - t0) / 1e9}


# ---- 4. callbacks ----
async def callbacks(variant, n):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    state = [0]

    def cb_batch():
        state[0] += 1
        if state[0] == n:
            done.set_result(None)

    def cb_chain():
        state[0] += 1
        if state[0] == n:
            done.set_result(None)
        else:
            loop.call_soon(cb_chain)

    m = Mark().start()
    if variant == "batch":
        call_soon = loop.call_soon
        for _ in range(n):
            call_soon(cb_batch)
    else:
        loop.call_soon(cb_chain)
    await done
    m.stop()
    return m, {}


# ---- 5. memory per waiting task ----
async def pending(variant, n):
    loop = asyncio.get_running_loop()
    shared = loop.create_future()

    async def waiter_own(i):
        await loop.create_future()

    async def waiter_shared(i):
        await shared

    fn = waiter_shared if variant == "shared" else waiter_own
    rss0 = rss_bytes()
    m = Mark().start()
    tasks = [loop.create_task(fn(i)) for i in range(n)]  # asyncio keeps only weak refs
    await asyncio.sleep(0)  # every task runs to its await
    m.stop()
    rss1 = rss_bytes()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return m, {"bytes_per_task": (rss1 - rss0) / n}


# ---- 8. synchronisation primitives (bench/aio_sync.c) ----
async def lock(variant, n):
    lk = asyncio.Lock()
    state = [0]

    async def locker():
        while True:
            async with lk:
                if state[0] == n:
                    return
                state[0] += 1
                await asyncio.sleep(0)

    a = asyncio.ensure_future(locker())
    b = asyncio.ensure_future(locker())
    m = Mark().start()
    await a
    await b
    m.stop()
    assert state[0] == n
    return m, {}


async def semaphore(variant, n):
    sem = asyncio.Semaphore(int(variant))

    async def job():
        async with sem:
            await asyncio.sleep(0)

    m = Mark().start()
    await asyncio.gather(*[job() for _ in range(n)])
    m.stop()
    return m, {}


async def queue(variant, n):
    q = asyncio.Queue(int(variant))

    async def producer():
        for i in range(n):
            await q.put(i)

    async def consumer():
        for i in range(n):
            assert await q.get() == i

    p = asyncio.ensure_future(producer())
    g = asyncio.ensure_future(consumer())
    m = Mark().start()
    await g
    await p
    m.stop()
    return m, {}


WORKLOADS = {"spawn": spawn, "pingpong": pingpong, "timers": timers, "callbacks": callbacks,
             "pending": pending, "lock": lock, "semaphore": semaphore, "queue": queue, "group": group}
DEFAULT_N = {"pending": 100000}


def main():
    if len(sys.argv) < 4 or sys.argv[2] not in WORKLOADS or sys.argv[1] not in ("asyncio", "uvloop"):
        sys.exit(__doc__)
    system, workload, variant = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else DEFAULT_N.get(workload, 1000000)
    if system == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    m, extra = loop.run_until_complete(WORKLOADS[workload](variant, n))
    emit(system, workload, variant, n, m, **extra)
    loop.close()


if __name__ == "__main__":
    main()
