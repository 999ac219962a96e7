"""The calendar's time axis: where a session's block sits and how overlaps share a column."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.services.bookings import SessionSlot
from app.ui.bookings.calendar_view import TimeAxis, lanes

ZONE = ZoneInfo("America/Chicago")


def slot(hour: int, minute: int = 0, minutes: int = 60) -> SessionSlot:
    start = datetime(2026, 11, 28, hour, minute, tzinfo=ZONE)
    return SessionSlot(uuid.uuid4(), uuid.uuid4(), start, start + timedelta(minutes=minutes),
                       10, 2, 8, "open")


def test_the_axis_covers_every_session_in_whole_hours():
    axis = TimeAxis.around([slot(7, 30), slot(22, 15, 90)], ZONE)
    assert (axis.first_hour, axis.last_hour) == (7, 24)


def test_a_quiet_day_shows_the_usual_opening_hours():
    assert (TimeAxis.around([], ZONE).first_hour, TimeAxis.around([], ZONE).last_hour) == (9, 21)
    assert (TimeAxis.around([slot(17), slot(21)], ZONE).first_hour,
            TimeAxis.around([slot(17), slot(21)], ZONE).last_hour) == (17, 22)


def test_a_block_sits_at_its_start_and_is_as_tall_as_it_lasts():
    nine, ten, half_past = slot(9), slot(10), slot(10, 30, 90)
    axis = TimeAxis.around([nine, ten, half_past], ZONE)
    assert axis.y(ten.starts_at, ZONE) == round(60 * axis.px_per_minute)
    assert axis.y(half_past.ends_at, ZONE) - axis.y(half_past.starts_at, ZONE) == round(
        90 * axis.px_per_minute)


def test_the_axis_reads_venue_time_whatever_zone_the_time_comes_in():
    axis = TimeAxis.around([slot(9)], ZONE)
    utc = slot(10).starts_at.astimezone(ZoneInfo("UTC"))
    assert axis.y(utc, ZONE) == round(60 * axis.px_per_minute)


def test_overlapping_sessions_share_the_width_and_later_ones_get_it_back():
    a, b, c, d = slot(18), slot(18, 30), slot(18, 45), slot(20)
    placed = lanes([d, c, b, a])
    assert placed[a.id] == (0, 3) and placed[b.id] == (1, 3) and placed[c.id] == (2, 3)
    assert placed[d.id] == (0, 1)


def test_a_lane_is_reused_once_its_session_ended():
    a, b, c = slot(18, 0, 60), slot(18, 30, 60), slot(19, 0, 60)
    placed = lanes([a, b, c])
    assert placed[c.id] == (0, 2)  # a ended at 19:00, b still runs
