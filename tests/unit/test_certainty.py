"""The page's "Sure" and the honesty report's are one number.

The report counts the wrong answers the page shows as "Sure"; the two must not drift apart.
"""

import re
from pathlib import Path

from model.training.honesty import SURE

CERTAINTY_JS = Path(__file__).resolve().parents[2] / "frontend" / "js" / "certainty.js"


def test_the_report_counts_sure_from_where_the_page_says_sure():
    levels = re.findall(r'\[([0-9.]+), "certainty\.(\w+)"', CERTAINTY_JS.read_text())
    assert levels[0] == (str(SURE), "sure"), levels
