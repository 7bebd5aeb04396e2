# A scripted SMTP next hop for the relay tests (started by start_scripted_hop in relay_lib.sh):
# listens on a free port of 127.0.0.1, prints the port on stdout and closes it, then serves
# connections until killed (one at a time, but in mixed and gated modes, where each has its
# thread).
# Offers PIPELINING and 8BITMIME.
#   record EVENTS  accepts everything; appends to EVENTS one line per connection ("connect"),
#                  per command (its verb) and per message ("message <Message-ID>").
#   refuse-twice   RCPT <a@...>: 550 always; any other recipient: 450 the first time, 550 after.
#   mixed EVENTS   per message, by the number K in its Message-ID <mixed-K@...>, on its first
#                  arrival only: K % 7 == 2 gets 554 after the data (a hard failure), else
#                  K % 5 == 1 gets 451 (soft), else K % 11 == 3 loses the connection before the
#                  reply; every later arrival, and every other message, gets 250. Appends
#                  "delivered <Message-ID>" to EVENTS for each 250 after the data.
#   gated EVENTS GATE  greets no connection before the file GATE exists (checked every 50 ms),
#                  then takes every message, appending "delivered <Message-ID>" to EVENTS.
# DATA with no accepted recipient gets 554 (RFC 2920: the client may have pipelined it).
import os
import socket
import sys
import threading
import time

mode = sys.argv[1]
events = open(sys.argv[2], "a", buffering=1) if mode in ("record", "mixed", "gated") else None
gate = sys.argv[3] if mode == "gated" else None


def log(line):
    if events and mode == "record":
        events.write(line + "\n")


def first_reply(message_id):
    """mixed: the reply to a message's first arrival (None: hang up without one)."""
    try:
        k = int(message_id.strip("<>").split("@")[0].split("-")[1])
    except (IndexError, ValueError):
        return b"250 2.0.0 ok\r\n"
    if k % 7 == 2:
        return b"554 5.7.1 refused by policy\r\n"
    if k % 5 == 1:
        return b"451 4.3.0 try again later\r\n"
    if k % 11 == 3:
        return None
    return b"250 2.0.0 ok\r\n"


srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)
sys.stdout.close()
tries = {}
seen = set()  # mixed: Message-IDs that arrived before
lock = threading.Lock()


def serve(conn):
    while gate and not os.path.exists(gate):
        time.sleep(0.05)
    log("connect")
    f = conn.makefile("rb")
    conn.sendall(b"220 scripted ESMTP\r\n")
    accepted = 0
    for line in f:
        if not line.endswith(b"\n"):
            break
        cmd = line.rstrip(b"\r\n").decode("ascii", "replace")
        verb = cmd.split(" ")[0].upper()
        log(verb)
        if verb == "EHLO":
            conn.sendall(b"250-scripted\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        elif verb in ("MAIL", "RSET"):
            accepted = 0
            conn.sendall(b"250 ok\r\n")
        elif verb == "RCPT" and mode == "refuse-twice":
            rcpt = cmd.split(":", 1)[1].strip().lower()
            tries[rcpt] = tries.get(rcpt, 0) + 1
            if rcpt.startswith("<a@") or tries[rcpt] > 1:
                conn.sendall(b"550 5.1.1 no such user\r\n")
            else:
                conn.sendall(b"450 4.2.0 try later\r\n")
        elif verb == "RCPT":
            accepted += 1
            conn.sendall(b"250 ok\r\n")
        elif verb == "DATA" and accepted == 0:
            conn.sendall(b"554 5.5.1 no valid recipients\r\n")
        elif verb == "DATA":
            conn.sendall(b"354 go\r\n")
            message_id = ""
            for data in f:
                if data == b".\r\n":
                    break
                if data.lower().startswith(b"message-id:") and not message_id:
                    message_id = data.decode().split(":", 1)[1].strip()
                    log("message " + message_id)
            reply = b"250 2.0.0 ok\r\n"
            if mode == "mixed":
                with lock:
                    first = message_id not in seen
                    seen.add(message_id)
                if first:
                    reply = first_reply(message_id)
            if reply is None:
                break  # hang up: the relay never hears about this message
            conn.sendall(reply)
            if mode in ("mixed", "gated") and reply.startswith(b"250"):
                with lock:
                    events.write("delivered " + message_id + "\n")
        elif verb == "QUIT":
            conn.sendall(b"221 bye\r\n")
            break
        else:
            conn.sendall(b"250 ok\r\n")
    f.close()
    conn.close()


while True:
    conn, _ = srv.accept()
    if mode in ("mixed", "gated"):
        # The relay's delivery threads connect in parallel; each connection is served at once.
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
    else:
        serve(conn)  # one connection at a time: the event order the record tests read
