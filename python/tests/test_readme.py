"""The README's Python example ("From Python"), run as written in a temporary folder."""
from __future__ import annotations

import os
import re
import tempfile
import unittest

README = os.environ.get("WEIGHTJPEG_README", os.path.join(os.path.dirname(__file__), "..", "..", "README.md"))


def example() -> str:
    with open(README, encoding="utf-8") as f:
        text = f.read()
    section = text.split("## From Python", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


class ReadmeTest(unittest.TestCase):
    def test_python_example_runs(self) -> None:
        code = example()
        here = os.getcwd()
        with tempfile.TemporaryDirectory() as folder:
            os.chdir(folder)
            try:
                exec(compile(code, "README.md (From Python)", "exec"), {"__name__": "readme_example"})
            finally:
                os.chdir(here)


if __name__ == "__main__":
    unittest.main()
