"""ffmpeg and ffprobe: command lines, output parsing, probing of files."""
