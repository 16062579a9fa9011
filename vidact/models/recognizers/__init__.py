"""Action recognizers. Importing this package registers them in `RECOGNIZERS`."""

from vidact.models.recognizers.base import BaseRecognizer, average_clip
from vidact.models.recognizers.recognizer2d import Recognizer2D
from vidact.models.recognizers.recognizer3d import Recognizer3D

__all__ = ["BaseRecognizer", "Recognizer2D", "Recognizer3D", "average_clip"]
