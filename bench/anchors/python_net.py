# The networking workloads on Python's multiprocessing, the twins of
# bench/net_workloads.ts: a recv_bytes round trip over loopback TCP between
# two processes (Listener and Client), the same bytes over a bare socket (the
# floor: no multiprocessing code), and a queue served by a BaseManager.
# Medians of 5 runs. `python3 python_net.py echo` is the echo server that
# net_workloads.ts times a Deno client against.
import json, queue, socket, statistics, sys, time
from multiprocessing import Process
from multiprocessing.connection import Client, Listener
from multiprocessing.managers import BaseManager

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "echo" else 1.0
ROUND_TRIPS = max(50, round(20_000 * SCALE))
BIG_ROUND_TRIPS = max(5, round(200 * SCALE))
QUEUE_ITEMS = max(50, round(20_000 * SCALE))
RUNS = 5
MESSAGE = b"\x07" * 100
BIG = b"\x07" * (1 << 20)
AUTHKEY = b"bench"


def report(workload, value, unit):
    print(json.dumps({"workload": workload, "value": value, "unit": unit}), flush=True)


def echo(listener=None):
    if listener is None:
        listener = Listener(("127.0.0.1", 0), authkey=AUTHKEY)
        print(listener.address[1], flush=True)
    with listener.accept() as conn:
        while True:
            try:
                conn.send_bytes(conn.recv_bytes())
            except EOFError:
                break
    listener.close()


def echo_bare(listener):
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
    listener.close()


def bare_round_trips(size, count):
    # A bare socket echo, no multiprocessing code: the floor of the round trip.
    listener = socket.create_server(("127.0.0.1", 0))
    server = Process(target=echo_bare, args=(listener,))
    server.start()
    message = b"\x07" * size
    runs = []
    with socket.create_connection(listener.getsockname()) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for run in range(RUNS + 1):
            t = time.perf_counter()
            for _ in range(count):
                conn.sendall(message)
                got = 0
                while got < size:
                    got += len(conn.recv(65536))
            if run > 0:
                runs.append((time.perf_counter() - t) * 1e6 / count)
    server.join()
    listener.close()
    return statistics.median(runs)


def round_trips(conn, message, count):
    runs = []
    for run in range(RUNS + 1):
        t = time.perf_counter()
        for _ in range(count):
            conn.send_bytes(message)
            conn.recv_bytes()
        if run > 0:
            runs.append((time.perf_counter() - t) * 1e6 / count)
    return statistics.median(runs)


served = queue.Queue()


def get_queue():
    return served


class QueueManager(BaseManager):
    pass


QueueManager.register("get_queue", callable=get_queue)


def manager_queue(q):
    runs = []
    for run in range(RUNS + 1):
        t = time.perf_counter()
        for i in range(QUEUE_ITEMS):
            q.put(i)
        for _ in range(QUEUE_ITEMS):
            q.get()
        if run > 0:
            runs.append(QUEUE_ITEMS / (time.perf_counter() - t))
    return statistics.median(runs)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "echo":
        echo()
        sys.exit(0)
    report("netRoundTripBare", bare_round_trips(104, ROUND_TRIPS), "us")
    listener = Listener(("127.0.0.1", 0), authkey=AUTHKEY)
    server = Process(target=echo, args=(listener,))
    server.start()
    with Client(listener.address, authkey=AUTHKEY) as conn:
        report("netRoundTrip", round_trips(conn, MESSAGE, ROUND_TRIPS), "us")
        report("netRoundTripBig", round_trips(conn, BIG, BIG_ROUND_TRIPS), "us")
    server.join()
    listener.close()
    manager = QueueManager(address=("127.0.0.1", 0), authkey=AUTHKEY)
    manager.start()
    report("managerQueue", manager_queue(manager.get_queue()), "items/s")
    manager.shutdown()
