"""Shared test data for trigger emulation (imported by name: conftest modules of other
test directories share the module name ``conftest``)."""

import numpy as np

MENU_TOML = """
name = "test_menu"

[outputs]
score = { tensor = 0, elements = ["g", "q", "W", "Z", "t"] }

[labels]
column = "label"
names = ["g", "q", "W", "Z", "t"]
background = ["g", "q"]

[define]
top = 'score["t"]'

[bits]
top_tag = 'argmax(score) == 4 and top >= 0.25'
w_like = { condition = 'score[2] > 0', prescale = 3 }
window = '-0.25 < score[0] <= 0.5'
sum_hi = 'score[1] + score[3] >= 0.375'

[l1]
accept = "top_tag or (w_like and not window) or sum_hi"
"""


def make_events(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.5, (n, 16)).astype(np.float32)
    labels = rng.integers(0, 5, n)
    return x, labels
