"""Spoken replies: a configurable command (default ``espeak-ng``) reads the reply on stdin.

The text goes on stdin, never on the command line, so a reply can not turn into options of the
command. ``{lang}`` in the argv becomes the reply's language ("ru" / "en", from the ``ask``
result), which picks espeak-ng's Russian or English voice — the same convention as the
daemon's ``[skills] alert_command``.
"""

from __future__ import annotations

import subprocess

DEFAULT_TTS_COMMAND = ["espeak-ng", "-v", "{lang}"]


class Speaker:
    """``argv``: the command, e.g. ``["espeak-ng", "-v", "{lang}"]``; ``timeout_s``: a reply
    taking longer to speak is cut off."""

    def __init__(self, argv: list[str] | None = None, timeout_s: float = 60.0):
        self.argv = list(DEFAULT_TTS_COMMAND if argv is None else argv)
        self.timeout_s = timeout_s

    def say(self, text: str, lang: str = "en") -> None:
        """Speak ``text`` and return when done. Raises RuntimeError with one line when the
        command is missing, fails or hangs."""
        if not self.argv:
            return
        argv = [a.replace("{lang}", lang if lang in ("ru", "en") else "en") for a in self.argv]
        try:
            done = subprocess.run(argv, input=text.encode("utf-8"), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=self.timeout_s, check=False)
        except FileNotFoundError:
            raise RuntimeError(f"TTS command {argv[0]!r} not found; install it (sudo apt-get "
                               "install espeak-ng) or set [sensors.voice] tts_command") from None
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"TTS command {argv[0]!r} took over {self.timeout_s:g} s; "
                               "cut off") from None
        except OSError as exc:
            raise RuntimeError(f"TTS command {argv[0]!r} failed to start: {exc}") from None
        if done.returncode != 0:
            last = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise RuntimeError(f"TTS command {argv[0]!r} exited with {done.returncode}"
                               + (f": {last[-1]}" if last else ""))
