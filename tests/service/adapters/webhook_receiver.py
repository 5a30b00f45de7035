"""A webhook receiver for the tests and the fault script: a real HTTP server
in its own process that records each request as one JSON line.

Run: ``python webhook_receiver.py PORT OUT_FILE [--status CODE]``. Each line
holds the headers, the body and the time received; the test checks the
signature with ``phoihop.adapters.verify_signature``.
"""

import argparse
import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()


def make_handler(out, status):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            record = {
                "path": self.path,
                "received_at": time.time(),
                "headers": dict(self.headers.items()),
                "body_b64": base64.b64encode(body).decode("ascii"),
            }
            with _lock, open(out, "a", encoding="utf-8") as stream:
                stream.write(json.dumps(record) + "\n")
                stream.flush()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("out")
    parser.add_argument("--status", type=int, default=200)
    args = parser.parse_args()
    server = ThreadingHTTPServer(
        ("127.0.0.1", args.port), make_handler(args.out, args.status)
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
