"""The voice sensor: microphone (or WAV) → wake word → VAD → faster-whisper → ``ask`` → TTS.

Modules, one job each: :mod:`.source` (microphone and WAV audio, the ring buffer),
:mod:`.vad` (end-of-speech detection), :mod:`.stt` (speech to text), :mod:`.tts` (spoken
replies), :mod:`.pipeline` (the state machine that ties them together), :mod:`.plugin` (the
sensor plugin the daemon runs) and :mod:`.listen` (``tars-edge listen``). docs/voice.md
describes the whole.
"""
