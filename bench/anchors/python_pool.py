# The comparison workloads on Python's multiprocessing.Pool(2).
import json, statistics, sys, time
from multiprocessing import Pool

def inc(x):
    return x + 1

def count_primes(limit):
    count = 0
    for n in range(2, limit):
        prime = True
        d = 2
        while d * d <= n:
            if n % d == 0:
                prime = False
                break
            d += 1
        if prime:
            count += 1
    return count

def report(workload, value, unit):
    print(json.dumps({"workload": workload, "value": value, "unit": unit}), flush=True)

if __name__ == "__main__":
    apply_n, async_n, map_n = 20_000, 100_000, 1_000_000
    # Python runs the prime count ~30x slower than V8: a smaller limit keeps the
    # run short; the speedup is a ratio of the same work either way.
    cpu_limit = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    t = time.perf_counter()
    pool = Pool(2)
    pool.apply(inc, (1,))
    report("start", (time.perf_counter() - t) * 1000, "ms")
    for i in range(2000):
        pool.apply(inc, (i,))
    t = time.perf_counter()
    for i in range(apply_n):
        pool.apply(inc, (i,))
    report("apply", (time.perf_counter() - t) * 1e6 / apply_n, "us")
    t = time.perf_counter()
    rs = [pool.apply_async(inc, (i,)) for i in range(async_n)]
    for r in rs:
        r.get()
    report("applyAsync", async_n / (time.perf_counter() - t), "tasks/s")
    times = []
    for _ in range(6):
        t = time.perf_counter()
        pool.map(inc, range(map_n))
        times.append(time.perf_counter() - t)
    report("map", map_n / statistics.median(times[1:]), "items/s")
    limits = [cpu_limit] * 8
    pool.map(count_primes, limits, chunksize=1)  # warm-up, as for the others
    speedups = []
    for _ in range(3):
        t = time.perf_counter()
        for limit in limits:
            count_primes(limit)
        serial = time.perf_counter() - t
        t = time.perf_counter()
        pool.map(count_primes, limits, chunksize=1)
        speedups.append(serial / (time.perf_counter() - t))
    report("cpu", statistics.median(speedups), "x")
    pool.close()
    pool.join()
