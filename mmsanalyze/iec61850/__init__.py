"""The IEC 61850 layer over the decoded MMS / GOOSE / SV traffic.

* :mod:`.modes` -- operating state of IEDs over time: Mode (``Mod``), Behaviour
  (``Beh``), ``Health``, ``LPHD.Sim``, test-flagged and simulated traffic, and the
  findings about them (IEC 61850-7-4 Annex A).
"""

from .modes import (BEH_TEST, CODES, FOLLOW_TIMEOUT_S, HEALTH, MODES, ModeTracker, Namer, behaviour,
                    quality_test)

__all__ = ["ModeTracker", "Namer", "behaviour", "quality_test", "MODES", "HEALTH", "BEH_TEST", "CODES",
           "FOLLOW_TIMEOUT_S"]
