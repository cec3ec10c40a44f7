#!/usr/bin/env python3
"""Record what a client asks of a server, then hand the same bytes back: the floor for kubectl.

    bench/replay.py record UPSTREAM_URL DIR    # a proxy on 127.0.0.1:<port> that records
    bench/replay.py replay DIR                 # a static server answering what was recorded

Each prints "port N" on its first line. `record` forwards every GET to UPSTREAM_URL and keeps the
answer (status, content type, body) under DIR, keyed by method, path with query, and Accept; `replay`
answers those keys from memory with a Content-Length, nothing computed, so timing kubectl against it
is timing kubectl and the loopback alone (the floor `bench/serve.sh` compares `arcdiag serve` to).
A key `replay` does not have gets a 404 and a line on stderr: the floor is then not the same work.
Standard library only; loopback only.
"""
import hashlib
import json
import os
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def key(method, path, accept):
    return f"{method} {path} {accept}"


def file_of(k):
    return hashlib.sha256(k.encode()).hexdigest()[:32] + ".body"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, code, ctype, body):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        k = key("GET", self.path, self.headers.get("Accept", ""))
        srv = self.server
        if srv.mode == "record":
            req = urllib.request.Request(srv.upstream + self.path)
            for h in ("Accept", "User-Agent"):
                if self.headers.get(h):
                    req.add_header(h, self.headers[h])
            try:
                with urllib.request.urlopen(req) as r:
                    code, ctype, body = r.status, r.headers.get("Content-Type", ""), r.read()
            except urllib.error.HTTPError as e:
                code, ctype, body = e.code, e.headers.get("Content-Type", ""), e.read()
            with srv.lock:
                with open(os.path.join(srv.dir, file_of(k)), "wb") as f:
                    f.write(body)
                srv.index[k] = [code, ctype]
                with open(os.path.join(srv.dir, "index.json"), "w") as f:
                    json.dump(srv.index, f)
            self.answer(code, ctype, body)
            return
        hit = srv.answers.get(k)
        if hit is None:
            sys.stderr.write(f"replay: not recorded: {k}\n")
            self.answer(404, "text/plain", b"not recorded\n")
            return
        self.answer(*hit)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "record":
        mode, upstream, d = "record", sys.argv[2].rstrip("/"), sys.argv[3]
        os.makedirs(d, exist_ok=True)
    elif len(sys.argv) == 3 and sys.argv[1] == "replay":
        mode, upstream, d = "replay", "", sys.argv[2]
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.mode, srv.upstream, srv.dir, srv.lock = mode, upstream, d, threading.Lock()
    srv.index, srv.answers = {}, {}
    if mode == "replay":
        with open(os.path.join(d, "index.json")) as f:
            for k, (code, ctype) in json.load(f).items():
                with open(os.path.join(d, file_of(k)), "rb") as b:
                    srv.answers[k] = (code, ctype, b.read())
    print(f"port {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
