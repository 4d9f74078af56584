"""The recording pipeline: ffmpeg supervision, sealing, crash reconciliation."""
