"""The set-up ``make setup`` runs (``python -m robot.setup``): what the robot and its tests
need besides Python packages, installed when missing and possible, said when not.

- :mod:`robot.setup.chromium` — a Chromium to drive, and the ffmpeg videos are recorded with;
- :mod:`robot.setup.dovecot` — the IMAP server the one-time-code tests start (tests only);
- :mod:`robot.setup.postgresql` — the PostgreSQL server the journal's tests start (tests
  only: the default journal is a SQLite file).

A run never installs anything: it finds its browser with :mod:`robot.browser.find`.
"""
