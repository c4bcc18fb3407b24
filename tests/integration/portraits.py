"""Portraits a test person sends: the stand-in Telegram lays out a portrait
per file_id (sandbox/standin.py make_jpeg: colour tiles and one face), and
about one layout in 1,300 also shows the bot's face module a second "face"
— a window of several tiles at a large scale.  A person would not send a
photo the bot will reject without meaning to; a test person does not
either: it picks a file_id whose portrait the bot's own face module (next
to the programs under test) sees one face in.  Tests that mean to send a
bad photo serve their own bytes."""
import ctypes
import os
import subprocess
import sys
import threading
import uuid

from harness import ROOT

sys.path.insert(0, os.path.join(ROOT, "sandbox"))
import standin  # noqa: E402

MODEL = b"/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
_lock = threading.Lock()
_modules = {}


def _module(bindir):
    with _lock:
        if bindir not in _modules:
            path = os.path.join(bindir, "aisha-face.so")
            lib = None
            if os.path.exists(path) and os.path.exists(MODEL):
                lib = ctypes.CDLL(path)
                lib.aisha_face_count.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                                                 ctypes.c_char_p]
            _modules[bindir] = lib
        return _modules[bindir]


def faces(bindir, file_id, size=(320, 400)):
    """Faces the module sees in the stand-in's portrait of file_id (None
    without the module: the programs then do not count faces either)."""
    lib = _module(bindir)
    if lib is None:
        return None
    jpeg = standin.make_jpeg(file_id, *size)
    pgm = subprocess.run(["djpeg", "-grayscale", "-pnm"], input=jpeg, capture_output=True,
                         check=True).stdout
    head, w_h, _, pixels = pgm.split(b"\n", 3)
    w, h = (int(x) for x in w_h.split())
    with _lock:      # (the module keeps one cascade)
        return lib.aisha_face_count(pixels, w, h, MODEL)


def one_face_key(bindir, prefix, size=(320, 400), length=12):
    """A fresh key whose file_id (prefix + key) shows one face."""
    for _ in range(50):
        key = uuid.uuid4().hex[:length]
        if faces(bindir, prefix + key, size) in (None, 1):
            return key
    raise RuntimeError("no portrait with one face in 50 tries")
