#!/usr/bin/env python3
# TCP throughput for `pnpm bench netpol`: `server <port>` receives and counts bytes per connection and replies with
# the count (8 bytes) when the client shuts down its side; `client <ip> <port> <seconds>` sends 256 KiB writes for
# that long and prints {"bytes": <received by the server>, "seconds": <elapsed>}.
import json, socket, struct, sys, threading, time

def server(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', port))
    s.listen(16)
    print('ready', flush=True)
    def serve(c):
        buf = bytearray(1 << 20)
        n = 0
        while True:
            r = c.recv_into(buf)
            if r == 0:
                break
            n += r
        c.sendall(struct.pack('!Q', n))
        c.close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

def client(ip, port, seconds):
    c = socket.create_connection((ip, port), timeout=10)
    data = b'x' * (256 * 1024)
    t0 = time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    got = b''
    while len(got) < 8:
        d = c.recv(8 - len(got))
        if not d:
            break
        got += d
    elapsed = time.monotonic() - t0
    print(json.dumps({'bytes': struct.unpack('!Q', got)[0], 'seconds': elapsed}), flush=True)

if sys.argv[1] == 'server':
    server(int(sys.argv[2]))
else:
    client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
