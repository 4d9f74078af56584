"""Live fan-out: one ffmpeg per watched stream, its fragments shared by every viewer."""
