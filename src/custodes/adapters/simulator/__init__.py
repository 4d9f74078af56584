"""Simulated IP cameras: pre-encoded clips looped behind a real RTSP server.

``clips`` encodes short raw elementary-stream clips once with ffmpeg (cached on disk),
``rtsp_server.py`` is a standalone GStreamer (gst-rtsp-server) script run with Debian's
system python that loops those clips with live timestamps, and ``process`` starts and
stops that script from the project's own interpreter.
"""
