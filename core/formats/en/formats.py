"""The one way the site writes dates and times (FORMAT_MODULE_PATH points here).

A 24-hour clock and short month names: "Dec 1, 2026, 19:25", dates "Dec 1, 2026". These
override Django's English locale ("Dec. 1, 2026, 7:25 p.m."), so the `when` filter
(core/clock.py), `|date:"DATETIME_FORMAT"` and the admin's lists all agree.
"""

DATETIME_FORMAT = "M j, Y, H:i"
DATE_FORMAT = "M j, Y"
TIME_FORMAT = "H:i"
SHORT_DATETIME_FORMAT = "M j, Y, H:i"
SHORT_DATE_FORMAT = "M j, Y"
