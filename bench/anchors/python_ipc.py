# The Queue and Pipe comparison workloads on Python's multiprocessing: a
# Process produces, the main process consumes. Medians of 3 runs.
import json, statistics, time
from array import array
from multiprocessing import Lock, Manager, Pipe, Process, Queue, Value

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


def time_queue_small():
    q = Queue()
    t = time.perf_counter()
    p = Process(target=produce_small, args=(q, SMALL))
    p.start()
    for _ in range(SMALL):
        q.get()
    p.join()
    return SMALL / (time.perf_counter() - t)


def time_pipe_small():
    receiver, sender = Pipe(duplex=False)
    t = time.perf_counter()
    p = Process(target=send_small, args=(sender, SMALL))
    p.start()
    sender.close()
    for _ in range(SMALL):
        receiver.recv()
    p.join()
    return SMALL / (time.perf_counter() - t)


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


def increment_locked(counter, count):
    for _ in range(count):
        with counter.get_lock():
            counter.value += 1


def time_lock_contended():
    counter = Value("i", 0)
    each = 100_000
    t = time.perf_counter()
    workers = [Process(target=increment_locked, args=(counter, each)) for _ in range(2)]
    for p in workers:
        p.start()
    for p in workers:
        p.join()
    assert counter.value == 2 * each
    return 2 * each / (time.perf_counter() - t)


def manager_round_trips(d, count, out):
    for i in range(2000):
        d["k"] = i
        d["k"]
    t = time.perf_counter()
    for i in range(count):
        d["k"] = i
        d["k"]
    out.put((time.perf_counter() - t) * 1e6 / count)


def time_manager():
    with Manager() as manager:
        out = Queue()
        d = manager.dict()  # kept referenced here, or the manager drops it
        p = Process(target=manager_round_trips, args=(d, 5_000, out))
        p.start()
        us = out.get()
        p.join()
        return us


if __name__ == "__main__":
    for name, unit, run in [
        ("queue", "msgs/s", time_queue_small),
        ("pipe", "msgs/s", time_pipe_small),
        ("queue8m", "MB/s", time_queue_big),
        ("lockAlone", "us", time_lock_alone),
        ("lockContended", "increments/s", time_lock_contended),
        ("manager", "us", time_manager),
    ]:
        value = statistics.median(run() for _ in range(3))
        print(json.dumps({"workload": name, "value": value, "unit": unit}), flush=True)
