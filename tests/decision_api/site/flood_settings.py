"""The example shop's settings, for the flood test: one rate-limit window for the whole run.

The shop's default windows (60 s) start at multiples of 60 s of the clock; a
test crossing one would see its counts start again halfway.
"""

from example_project.settings import *  # noqa: F403

FLAGSHIP_DECISION_API_RATE_LIMIT = (1000, 6000, 1e9)
