"""Speech in (audio files and PCM streams to text) and the spoken turn."""
