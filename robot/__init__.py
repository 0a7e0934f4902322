"""chorus-robot's runtime: everything on the robot's side of the browser but the page objects
(``pages``) and the business flows (``scenarios``). Where a change goes:

- ``robot.errors``   the robot's own errors and the exit code each maps to (the one place);
- ``robot.config``   configuration from the environment and ``.env``, validated whole;
- ``robot.secrets``  secret values: masked in ``repr``, registered, removed from every file;
- ``robot.logs``     loguru set-up (``run.log``, secrets redacted);
- ``robot.timezone`` Paris, for what people read;
- ``robot.portal``   which portal (configured URL or embedded sandbox) and which account;
- ``robot.plan``     the plan file: read, validated whole, and its template;
- ``robot.otp``      one-time codes: prompt, Maildir, command, IMAP;
- ``robot.browser``  which Chromium, launching it, the logged-in session, what is recorded;
- ``robot.run``      a run: journal, runner, workers, retries, stop signal, its end;
- ``robot.audit``    the audit bundle: run folder layout, events, report, manifest, scan;
- ``robot.cli``      ``chorus-robot``'s commands (French);
- ``robot.setup``    ``make setup``'s steps (Chromium, ffmpeg, Dovecot for the tests).

Imports go one way: ``robot → scenarios → pages → playwright``; the sandbox is never imported
by the robot except to start the embedded one (``robot.portal``).
"""
