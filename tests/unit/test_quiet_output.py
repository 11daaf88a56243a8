"""`telecom run` shows what its parts say, without their dependencies' warnings
(ops/launcher.py: sanic resets the warning filters, so PYTHONWARNINGS cannot do it)."""

from __future__ import annotations

import io

from ops.launcher import relay_without_dependency_warnings

SITE = "/srv/app/.venv/lib/python3.10/site-packages"
STARTUP = f"""\
{SITE}/sanic_cors/extension.py:39: DeprecationWarning: distutils Version classes are deprecated.
  SANIC_VERSION = LooseVersion(sanic_version)
{SITE}/pkg_resources/__init__.py:3117: DeprecationWarning: Deprecated call to `declare_namespace('ruamel')`.
Implementing implicit namespace packages (as specified in PEP 420) is preferred.
  declare_namespace(pkg)
2026-12-06 22:59:41,112 sanic.root: Starting worker [25174]
{SITE}/rasa/shared/core/slot_mappings.py:224: UserWarning: Slot auto-fill has been removed in 3.0
2026-12-06 22:59:48 INFO     root  - Starting Rasa server on http://127.0.0.1:6105
/srv/app/telecom_assistant/texts/__init__.py:12: DeprecationWarning: our own, kept
  warnings.warn("our own, kept", DeprecationWarning)
[2026-12-06 22:59:42 +0000] [25187] [INFO] Starting worker [25187]
Traceback (most recent call last):
  File "/srv/app/console/__main__.py", line 3, in <module>
"""


def relayed(text: str) -> str:
    terminal = io.StringIO()
    relay_without_dependency_warnings(io.StringIO(text), terminal)
    return terminal.getvalue()


def test_dependency_warnings_are_left_out_and_everything_else_is_shown():
    assert (
        relayed(STARTUP)
        == """\
2026-12-06 22:59:41,112 sanic.root: Starting worker [25174]
2026-12-06 22:59:48 INFO     root  - Starting Rasa server on http://127.0.0.1:6105
/srv/app/telecom_assistant/texts/__init__.py:12: DeprecationWarning: our own, kept
  warnings.warn("our own, kept", DeprecationWarning)
[2026-12-06 22:59:42 +0000] [25187] [INFO] Starting worker [25187]
Traceback (most recent call last):
  File "/srv/app/console/__main__.py", line 3, in <module>
"""
    )


def test_a_line_that_merely_mentions_site_packages_is_shown():
    line = f"2026-12-06 23:00:00 ERROR could not read {SITE}/x.py: Warning: disk full\n"
    assert relayed(line) == line
