# Copyright: MiracleMax contributors
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Writes each host's play totals as JSON for mmctl deploy's summary."""

from __future__ import annotations

DOCUMENTATION = """
name: mmctl_results
type: aggregate
short_description: Each host's play totals as JSON, for mmctl's summary
description:
  - At the end of a run, writes every host's totals (ok, changed, unreachable, failed, skipped,
    rescued, ignored) as one JSON object to the file named by the MIRACLEMAX_RESULTS_FILE
    environment variable, so mmctl deploy reads the play's result in a machine form whatever
    stdout callback the user chose. It prints nothing and does nothing when the variable is unset.
  - mmctl deploy enables it for its own runs only (adding it to the callbacks already enabled).
author: MiracleMax maintainers (@miraclemax)
options: {}
"""

import json
import os
import tempfile

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "miraclemax.stack.mmctl_results"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("MIRACLEMAX_RESULTS_FILE")
        if not path:
            return
        hosts = {}
        for host in sorted(stats.processed):
            s = stats.summarize(host)
            hosts[host] = {
                "ok": s["ok"],
                "changed": s["changed"],
                "unreachable": s["unreachable"],
                "failed": s["failures"],
                "skipped": s["skipped"],
                "rescued": s["rescued"],
                "ignored": s["ignored"],
            }
        # Written whole or not at all: mmctl never reads half a file.
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".mmctl-results-")
        with os.fdopen(fd, "w") as f:
            json.dump({"hosts": hosts}, f)
        os.replace(tmp, path)
