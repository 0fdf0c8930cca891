"""Tasks: what validators ask miners, and how answers are scored.

`NextTokenTask` (next-token prediction on text that ships with Python) is the default; `DigitsTask`
(scikit-learn's bundled digits) shows that any `Task` subclass works. Everything here is numpy;
torch is imported only by ``training_loss``.
"""

from .base import Batch, Task
from .digits import DigitsTask
from .next_token import DEFAULT_DOMAINS, NextTokenTask, domains, pydoc_text, pydoc_topics, stdlib_source

__all__ = ["Task", "Batch", "NextTokenTask", "DigitsTask", "domains", "pydoc_topics", "pydoc_text",
           "stdlib_source", "DEFAULT_DOMAINS"]
