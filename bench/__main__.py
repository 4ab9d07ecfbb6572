"""``make bench``: prints every benchmark figure of the project in one run. Never asserts times."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def main() -> int:
    from bench import synth

    print(synth.report(synth.run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
