"""Seed a running exit3-server (memory store) over HTTP with N leads in the peer's
distribution (status by i % 5, source by i % 6, category by (i / 6) % 6), each with
client info (the request's address, user agent and UTM fields). Admin key; the server
must run with THROTTLE_ADMIN=off. Usage: seed_memory.py BASE_URL KEY N"""
import http.client
import json
import sys
import threading
from urllib.parse import urlparse

base, key, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
url = urlparse(base)
STATUS = ["new", "contacted", "qualified", "converted", "lost"]
SOURCE = ["website", "referral", "social", "email", "event", "other"]
CATEGORY = ["web_dev", "mobile_dev", "design", "marketing", "consulting", "other"]
FN = ["Anna", "Boris", "Chen", "Dana", "Emil", "Fatima", "Georg", "Hana", "Ivan", "Julia"]
LN = ["Smith", "Novak", "Garcia", "Kowalski", "Tanaka", "Muller", "Rossi", "Silva", "Jensen", "Petrov"]
failed = []


def work(start, step):
    conn = http.client.HTTPConnection(url.hostname, url.port)
    for i in range(start, rows + 1, step):
        fn, ln = FN[i % 10], LN[(i // 10) % 10]
        body = {
            "full_name": f"{fn} {ln}",
            "position": ["CEO", "CTO", "Product Manager", "Marketing Lead", "Founder", "Developer"][i % 6],
            "company_name": None if i % 7 == 0 else f"Company {i % 997} Ltd",
            "email": f"{fn.lower()}.{ln.lower()}{i}@example.com",
            "phone": "+1 555 %04d" % (i % 10000),
            "message": "Hello, we are looking for a partner for a new project and would like to "
            f"discuss scope, timeline and budget. Reference #{i}.",
            "status": STATUS[i % 5],
            "source": SOURCE[i % 6],
            "category": CATEGORY[(i // 6) % 6],
            "utm_source": ["google", "linkedin", "newsletter", None][i % 4],
            "utm_medium": ["cpc", "social", "email", None][i % 4],
            "utm_campaign": ["spring-launch", "webinar", None, None][i % 4],
        }
        conn.request("POST", "/backend/api/v1/leads/", json.dumps(body), {
            "Authorization": f"Basic {key}", "Content-Type": "application/json",
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) seed", "Referer": "https://exit3.agency/contact",
            "X-Forwarded-For": f"198.51.100.{i % 250 + 1}"})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 201:
            failed.append(resp.status)
            return


threads = [threading.Thread(target=work, args=(1 + t, 4)) for t in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failed:
    sys.exit(f"seeding failed: HTTP {failed[0]}")
print(f"seeded {rows} leads")
