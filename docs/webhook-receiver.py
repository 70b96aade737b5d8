#!/usr/bin/env python3
"""A minimal receiver of lamplighterd's webhooks: checks each delivery's signature and drops
repeats. Standard library only. Run: WEBHOOK_SECRET=whsec_... python3 docs/webhook-receiver.py 8088

A delivery is a POST whose body is the event as the live stream shows it, plus "delivery" and
"webhook" ids, with these headers:
  Lamplighter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
  Lamplighter-Delivery:  the delivery's id (stable across retries)
  Lamplighter-Event:     the event's type, e.g. incident.opened
Answer 2xx once the delivery is safely yours; anything else (or no answer within 10 s) is retried.
"""
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["WEBHOOK_SECRET"].encode()
REPLAY_WINDOW = 300  # seconds: refuse signatures older (or newer) than this
seen = set()  # delivery ids already handled; keep it durable in a real receiver


def verify(signature: str, body: bytes) -> bool:
    parts = dict(part.split("=", 1) for part in signature.split(",") if "=" in part)
    t, v1 = parts.get("t", ""), parts.get("v1", "")
    if not t.isdigit() or abs(time.time() - int(t)) > REPLAY_WINDOW:
        return False
    expected = hmac.new(SECRET, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, v1)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not verify(self.headers.get("Lamplighter-Signature", ""), body):
            self.send_response(401)
            self.end_headers()
            return
        delivery = self.headers["Lamplighter-Delivery"]
        if delivery not in seen:  # a resend after a crash carries the same id: handle it once
            seen.add(delivery)
            event = json.loads(body)
            print(delivery, event["type"], event.get("lamp", "-"), event.get("incident", {}).get("detail", ""), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8088), Receiver).serve_forever()
