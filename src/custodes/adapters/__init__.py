"""Adapters at the edges: database, ffmpeg, storage, simulator."""
