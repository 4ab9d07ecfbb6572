"""Check the rehearsal report's layout in a real headless browser (Debian's Chromium).

The page is loaded at a given window width with a script appended that measures what the browser
laid out: text in each chart must not overlap other text, no chart or table may stick out of the page
(horizontal overflow), and the timeline's rows must not overlap. Used by the test suite
(``tests/unit/test_demo_report_browser.py``) and available to a person:
``python -m demo.layout_check reports/rehearsal.html``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# As this machine's probe runs it: no sandbox (root), no GPU, no background network traffic.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
MEASURE = """
<script>
(function () {
  const problems = [];
  const boxes = (nodes) => Array.from(nodes).map((n) => [n, n.getBoundingClientRect()])
      .filter(([, r]) => r.width > 0 && r.height > 0);
  const overlap = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  document.querySelectorAll("svg").forEach((svg, index) => {
    const texts = boxes(svg.querySelectorAll("text"));
    for (let i = 0; i < texts.length; i++)
      for (let j = i + 1; j < texts.length; j++)
        if (overlap(texts[i][1], texts[j][1]))
          problems.push(`chart ${index + 1} (${svg.getAttribute("aria-label")}): '${texts[i][0].textContent}' overlaps '${texts[j][0].textContent}'`);
    const r = svg.getBoundingClientRect();
    if (r.right > document.documentElement.clientWidth + 1)
      problems.push(`chart ${index + 1} (${svg.getAttribute("aria-label")}) sticks out of the page by ${Math.round(r.right - document.documentElement.clientWidth)}px`);
  });
  const rows = boxes(document.querySelectorAll("table.timeline tr.mark"));
  for (let i = 1; i < rows.length; i++)
    if (rows[i][1].top < rows[i - 1][1].bottom - 0.5) problems.push(`timeline rows ${i} and ${i + 1} overlap`);
  document.querySelectorAll("table").forEach((table, index) => {
    const r = table.getBoundingClientRect();
    if (r.right > document.documentElement.clientWidth + 1)
      problems.push(`table ${index + 1} (${table.className || "untitled"}) sticks out of the page by ${Math.round(r.right - document.documentElement.clientWidth)}px`);
  });
  const verdicts = boxes(document.querySelectorAll(".verdict"));
  verdicts.forEach(([node, r]) => { if (r.width < 20) problems.push(`verdict '${node.textContent}' is not visible`); });
  const out = document.createElement("pre");
  out.id = "layout-check";
  out.textContent = JSON.stringify({problems: problems, charts: document.querySelectorAll("svg").length, verdicts: verdicts.length});
  document.body.appendChild(out);
})();
</script>
"""


class BrowserUnavailable(RuntimeError):
    """No Chromium on this machine (``apt-get install chromium``)."""


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserUnavailable("no Chromium found (apt-get install chromium)")


def measure(page: Path, width: int, height: int = 900) -> dict[str, object]:
    """Lay ``page`` out at ``width`` CSS pixels in headless Chromium; what the measuring script found."""
    with tempfile.TemporaryDirectory(prefix="layout-check-") as folder:
        probe = Path(folder) / "page.html"
        probe.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
        result = subprocess.run(
            [browser(), *FLAGS, f"--user-data-dir={folder}/profile", f"--window-size={width},{height}", "--dump-dom",
             probe.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        )  # fmt: skip
    found = re.search(r'<pre id="layout-check">(.*?)</pre>', result.stdout, re.S)
    if not found:
        raise RuntimeError(f"the browser produced no measurement (exit {result.returncode}): {result.stderr[-800:]}")
    import html

    return dict(json.loads(html.unescape(found.group(1))))


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    page = Path(args[0] if args else "reports/rehearsal.html")
    failed = False
    for width in (1280, 420):
        problems = list(measure(page, width)["problems"])  # type: ignore[call-overload]
        print(f"{page} at {width}px: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        for problem in problems:
            print(f"  - {problem}")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
