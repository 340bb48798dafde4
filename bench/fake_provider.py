"""The loopback fake of Twilio's REST API in a process of its own, so it does not share the measured process's
interpreter lock. `python -m bench.fake_provider ACCOUNT_SID AUTH_TOKEN` prints its base URL, then serves until
its standard input closes."""

from __future__ import annotations

import sys

from tests.fakes.twilio_api import FakeTwilioApi


def main(argv: list[str]) -> None:
    with FakeTwilioApi(argv[0], argv[1]) as fake:
        print(fake.base_url, flush=True)
        sys.stdin.read()  # until the parent closes the pipe
        print(len(fake.created()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
