#!/usr/bin/env python3
"""Create leads from many threads until told to stop; print every acknowledged lead id.

Used by kill.sh: each thread POSTs leads/ (the public key, its own forwarded address per
request) in a loop and writes the id of each 201 to stdout, one per line, as soon as the
answer is read. Anything else (503 while PostgreSQL is down, a dropped connection) is
counted on stderr and the loop goes on. Stops when the file STOP exists.
Usage: kill_client.py URL KEY THREADS STOP
"""
import http.client
import json
import os
import random
import sys
import threading
import urllib.parse

url, key, threads, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
parts = urllib.parse.urlsplit(url)
body = json.dumps({
    "full_name": "Durability Check", "position": "Tester",
    "email": "kill@example.com", "message": "Sent while PostgreSQL is killed.",
})
lock = threading.Lock()
others = {}


def worker(n):
    rng = random.Random(n)
    conn = None
    while not os.path.exists(stop):
        try:
            if conn is None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            conn.request("POST", parts.path, body, {
                "Authorization": "Basic " + key,
                "Content-Type": "application/json",
                "X-Forwarded-For": "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256),
                                                   rng.randrange(1, 255)),
            })
            response = conn.getresponse()
            data = response.read()
            if response.status == 201:
                with lock:
                    sys.stdout.write("%d\n" % json.loads(data)["id"])
                    sys.stdout.flush()
            else:
                with lock:
                    others[response.status] = others.get(response.status, 0) + 1
        except (OSError, http.client.HTTPException) as e:
            with lock:
                others[type(e).__name__] = others.get(type(e).__name__, 0) + 1
            if conn is not None:
                conn.close()
            conn = None


workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print("not acknowledged: %s" % (others or "none"), file=sys.stderr)
