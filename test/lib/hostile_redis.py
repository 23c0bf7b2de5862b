#!/usr/bin/env python3
"""A hostile 'Redis' on 127.0.0.1 for the fault tests: it answers every
request it reads with one fixed byte string (a reply of the wrong type, a
malformed one, an error, a truncated one), or closes the connection at once
(reply "CLOSE"), or never answers ("HANG"). Not a Redis: a way to make the
real hiredis client inside the backend meet every kind of bad reply.

usage: hostile_redis.py PORTFILE   (reads the reply, Python-escaped, from stdin
       lines "REPLY <escaped>"; writes the port it listens on to PORTFILE)
"""
import socket
import sys
import threading

reply = [b"+OK\r\n"]


def serve(conn):
    with conn:
        conn.settimeout(30)
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                r = reply[0]
                if r == b"CLOSE":
                    return
                if r == b"HANG":
                    continue
                conn.sendall(r)
        except OSError:
            return


def control():
    for line in sys.stdin:
        if line.startswith("REPLY "):
            reply[0] = line[6:].rstrip("\n").encode().decode("unicode_escape").encode("latin-1")


def main():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    with open(sys.argv[1], "w") as f:
        f.write(str(srv.getsockname()[1]))
    threading.Thread(target=control, daemon=True).start()
    srv.settimeout(600)  # bounded: gone after 10 idle minutes at most
    while True:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            return
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
