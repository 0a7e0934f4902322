"""``python -m robot.setup``: every set-up step; exit 1 only when no Chromium can be had."""

from __future__ import annotations

from robot.setup import chromium, dovecot, postgresql


def main() -> int:
    code = chromium.main()
    dovecot.main()  # tests only: never fails the set-up
    postgresql.main()  # the PostgreSQL journal's tests: never fails the set-up
    return code


if __name__ == "__main__":
    raise SystemExit(main())
