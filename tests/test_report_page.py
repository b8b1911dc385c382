"""report.html as a reader sees it, in Chromium: every figure's text fits inside the figure
and every flow box holds its text (the SVG is laid out from estimated text widths)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.helpers import run

pytestmark = pytest.mark.browser

OVERFLOW = """() => {
  const out = [];
  const inside = (a, b) => a.left >= b.left - 1 && a.right <= b.right + 1
      && a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
  for (const svg of document.querySelectorAll('figure > svg')) {
    const frame = svg.getBoundingClientRect();
    if (frame.width < 100) out.push(`${svg.parentElement.id}: ${frame.width} wide`);
    for (const text of svg.querySelectorAll('text')) {
      if (!inside(text.getBoundingClientRect(), frame))
        out.push(`${svg.parentElement.id}: "${text.textContent}" leaves the figure`);
    }
    for (const box of svg.querySelectorAll('g.flow-stage, g.flow-note')) {
      const rect = box.querySelector('rect').getBoundingClientRect();
      for (const text of box.querySelectorAll('text')) {
        if (!inside(text.getBoundingClientRect(), rect))
          out.push(`flow: "${text.textContent}" leaves its box`);
      }
    }
  }
  return out;
}"""


@pytest.mark.parametrize("width", [390, 1280])
def test_the_figures_hold_their_text(browser: Browser, tmp_path: Path, width: int) -> None:
    out = tmp_path / "report"
    result = run("demo", "-d", str(tmp_path / "demo.db"), "-o", str(out), "-q")
    assert result.exit_code == 0, result.output
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto((out / "report.html").as_uri())
    assert page.locator("figure > svg").count() == 7
    assert page.evaluate(OVERFLOW) == []
    page.close()
