# A scripted SMTP next hop for the relay tests (started by start_scripted_hop in relay_lib.sh):
# listens on a free port of 127.0.0.1, prints the port on stdout and closes it, then serves one
# connection at a time until killed. Offers PIPELINING and 8BITMIME.
#   record EVENTS  accepts everything; appends to EVENTS one line per connection ("connect"),
#                  per command (its verb) and per message ("message <Message-ID>").
#   refuse-twice   RCPT <a@...>: 550 always; any other recipient: 450 the first time, 550 after.
# DATA with no accepted recipient gets 554 (RFC 2920: the client may have pipelined it).
import socket
import sys

mode = sys.argv[1]
events = open(sys.argv[2], "a", buffering=1) if mode == "record" else None


def log(line):
    if events:
        events.write(line + "\n")


srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)
sys.stdout.close()
tries = {}
while True:
    conn, _ = srv.accept()
    log("connect")
    f = conn.makefile("rb")
    conn.sendall(b"220 scripted ESMTP\r\n")
    accepted = 0
    for line in f:
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
            for data in f:
                if data == b".\r\n":
                    break
                if data.lower().startswith(b"message-id:"):
                    log("message " + data.decode().split(":", 1)[1].strip())
            conn.sendall(b"250 2.0.0 ok\r\n")
        elif verb == "QUIT":
            conn.sendall(b"221 bye\r\n")
            break
        else:
            conn.sendall(b"250 ok\r\n")
    conn.close()
