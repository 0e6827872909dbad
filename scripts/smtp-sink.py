"""A local SMTP server for the e-mail tests: every message it accepts is written to DIR as
<n>.eml (the envelope's recipients in a first `X-Envelope-To:` line), and the port it listens
on is printed once it is ready. Runs until killed.

    python smtp-sink.py DIR [--fail-first N]

--fail-first N refuses the first N messages with 451 (a relay that is temporarily unable),
so the tests can see a failed delivery retried.
"""
import argparse
import asyncio
import itertools
import pathlib
import socket
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory: pathlib.Path, fail_first: int):
        self.directory = directory
        self.counter = itertools.count(1)
        self.refuse = fail_first

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 temporarily unable, try again later"
        n = next(self.counter)
        path = self.directory / f"{n:06}.eml"
        head = ("X-Envelope-To: " + ", ".join(envelope.rcpt_tos) + "\r\n").encode()
        path.write_bytes(head + envelope.original_content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=pathlib.Path)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    controller = Controller(Sink(args.directory, args.fail_first), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
