# The Queue and Pipe comparison workloads on Python's multiprocessing: a
# Process produces, the main process consumes. Medians of 5 runs.
import json, statistics, time
from array import array
from multiprocessing import Event, Lock, Manager, Pipe, Process, Queue, Value

SMALL = 200_000
BIG_ITEMS = 40


def produce_small(q, count):
    for i in range(count):
        q.put(i)


def send_small(conn, count):
    for i in range(count):
        conn.send(i)
    conn.close()


def produce_big(q, count):
    data = array("d", [0.0]) * (1 << 20)  # 8 MiB of doubles
    for i in range(count):
        data[0] = i
        q.put(data)


def small_run(t0, t_first, t_end):
    """Rates with and without the Process start (msgs/s), and ms to the first item."""
    return {
        "with_start": SMALL / (t_end - t0),
        "steady": (SMALL - 1) / (t_end - t_first),
        "first_item": (t_first - t0) * 1000,
    }


def time_queue_small():
    q = Queue()
    t0 = time.perf_counter()
    p = Process(target=produce_small, args=(q, SMALL))
    p.start()
    q.get()
    t_first = time.perf_counter()
    for _ in range(SMALL - 1):
        q.get()
    t_end = time.perf_counter()
    p.join()
    return small_run(t0, t_first, t_end)


def time_pipe_small():
    receiver, sender = Pipe(duplex=False)
    t0 = time.perf_counter()
    p = Process(target=send_small, args=(sender, SMALL))
    p.start()
    sender.close()
    receiver.recv()
    t_first = time.perf_counter()
    for _ in range(SMALL - 1):
        receiver.recv()
    t_end = time.perf_counter()
    p.join()
    return small_run(t0, t_first, t_end)


def time_queue_big():
    q = Queue(4)
    t = time.perf_counter()
    p = Process(target=produce_big, args=(q, BIG_ITEMS))
    p.start()
    for _ in range(BIG_ITEMS):
        q.get()
    p.join()
    return BIG_ITEMS * 8 * 1.048576 / (time.perf_counter() - t)


def lock_alone(lock, count, out):
    t = time.perf_counter()
    for _ in range(count):
        lock.acquire()
        lock.release()
    out.put((time.perf_counter() - t) * 1e6 / count)


def time_lock_alone():
    out = Queue()
    p = Process(target=lock_alone, args=(Lock(), 200_000, out))
    p.start()
    us = out.get()
    p.join()
    return us


def increment_locked(counter, count, ready, go, done):
    ready.put(1)
    go.wait()
    for _ in range(count):
        with counter.get_lock():
            counter.value += 1
    done.put(1)


def time_lock_contended():
    # Timed from the moment both workers may begin until both have finished.
    counter = Value("i", 0)
    each = 100_000
    ready, done, go = Queue(), Queue(), Event()
    workers = [Process(target=increment_locked, args=(counter, each, ready, go, done)) for _ in range(2)]
    for p in workers:
        p.start()
    for _ in workers:
        ready.get()
    t = time.perf_counter()
    go.set()
    for _ in workers:
        done.get()
    seconds = time.perf_counter() - t
    for p in workers:
        p.join()
    assert counter.value == 2 * each
    return 2 * each / seconds


def manager_round_trips(d, out):
    # Times 5,000 pairs after 2,000 warm-up pairs ("early") and 5,000 after
    # 20,000 ("steady"), as bench/ipc_workloads.ts does.
    def pairs(count):
        t = time.perf_counter()
        for i in range(count):
            d["k"] = i
            d["k"]
        return (time.perf_counter() - t) * 1e6 / count

    pairs(2000)
    early = pairs(5000)
    pairs(20000 - 2000 - 5000)
    steady = pairs(5000)
    out.put({"early": early, "steady": steady})


def time_manager():
    with Manager() as manager:
        out = Queue()
        d = manager.dict()  # kept referenced here, or the manager drops it
        p = Process(target=manager_round_trips, args=(d, out))
        p.start()
        run = out.get()
        p.join()
        return run


RUNS = 5


def report(name, value, unit):
    print(json.dumps({"workload": name, "value": value, "unit": unit}), flush=True)


if __name__ == "__main__":
    for name, run in [("queue", time_queue_small), ("pipe", time_pipe_small)]:
        runs = [run() for _ in range(RUNS)]
        report(name, statistics.median(r["steady"] for r in runs), "msgs/s")
        report(name + "WithStart", statistics.median(r["with_start"] for r in runs), "msgs/s")
        report(name + "FirstItem", statistics.median(r["first_item"] for r in runs), "ms")
    for name, unit, run in [
        ("queue8m", "MB/s", time_queue_big),
        ("lockAlone", "us", time_lock_alone),
        ("lockContended", "increments/s", time_lock_contended),
    ]:
        report(name, statistics.median(run() for _ in range(RUNS)), unit)
    manager_runs = [time_manager() for _ in range(RUNS)]
    report("manager", statistics.median(r["steady"] for r in manager_runs), "us")
    report("managerEarly", statistics.median(r["early"] for r in manager_runs), "us")
