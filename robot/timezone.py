"""The robot's time zone for what a person reads (run ids, reports, plan dates): Paris."""

from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
