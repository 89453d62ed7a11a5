"""The avatar: voice with phoneme timings, visemes, and rendering. Knows nothing of medicine."""
