"""``make bench``: prints every benchmark figure of the project in one run. Never asserts times."""

from __future__ import annotations

import sys

from offline.environment import use_offline_environment

use_offline_environment()


def main() -> int:
    from bench import ab, drift, lambdas, rehearsal, serving, synth, validation

    for module in (synth, lambdas, serving, rehearsal, ab, drift, validation):
        print(module.report(module.run()), flush=True)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
