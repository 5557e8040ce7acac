"""Captions for the builtin model: a fixed vocabulary, a tokenizer and a small learned encoder.

The vocabulary is closed: colour names (sim/spec/types.py NAMED_COLORS), shapes, textures,
floors and motion words. Words outside it are ignored (dropped before encoding), so a prompt
such as "a shiny red ball rolls" is read as "red ball rolls"; `unknown_words` reports them.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from physreel.sim.spec.types import NAMED_COLORS

COLOR_WORDS = tuple(sorted(NAMED_COLORS))
SHAPE_WORDS = ("sphere", "ball", "box", "cube", "block", "capsule", "cylinder", "mesh", "object", "objects",
               "domino", "dominoes", "plane")
TEXTURE_WORDS = ("checkered", "checker", "striped", "stripes", "noisy", "speckled", "plain", "textured")
FLOOR_WORDS = ("floor", "ground", "table", "sky", "background")
MOTION_WORDS = ("bounces", "bounce", "rolls", "roll", "slides", "slide", "falls", "fall", "spins", "spin",
                "tumbles", "flies", "moves", "rests", "still", "collide", "collides", "camera", "orbits",
                "pans", "dolly", "follows", "fast", "slow")
FUNCTION_WORDS = ("a", "an", "the", "on", "and", "with", "in", "of", "two", "three", "four", "several")

PAD, EMPTY = 0, 1
"""Token ids: padding, and the single token an empty caption is encoded as (so attention has a key)."""
VOCABULARY: tuple[str, ...] = ("<pad>", "<empty>") + tuple(
    dict.fromkeys(COLOR_WORDS + SHAPE_WORDS + TEXTURE_WORDS + FLOOR_WORDS + MOTION_WORDS + FUNCTION_WORDS)
)
WORD_IDS = {word: i for i, word in enumerate(VOCABULARY)}
MAX_TOKENS = 24


def words_of(caption: str) -> list[str]:
    """Lower-case alphabetic words of a caption, in order."""
    return re.findall(r"[a-z]+", caption.lower())


def unknown_words(caption: str) -> list[str]:
    """Words of `caption` the builtin model ignores (outside its vocabulary)."""
    return [w for w in words_of(caption) if w not in WORD_IDS]


def tokenize(captions: list[str], max_tokens: int = MAX_TOKENS) -> torch.Tensor:
    """Token ids of each caption, known words only, truncated/padded to `max_tokens`.

    Returns int64 [B, max_tokens]; an empty (or all-unknown) caption is [EMPTY, PAD, ...].
    """
    ids = torch.full((len(captions), max_tokens), PAD, dtype=torch.long)
    for row, caption in enumerate(captions):
        known = [WORD_IDS[w] for w in words_of(caption) if w in WORD_IDS][:max_tokens] or [EMPTY]
        ids[row, : len(known)] = torch.tensor(known)
    return ids


class CaptionEncoder(nn.Module):
    """Token embedding + position embedding + one transformer layer -> [B, L, dim] states.

    The layer lets a colour word bind to the shape word beside it ("red sphere" vs "red box").
    """

    def __init__(self, dim: int = 64, max_tokens: int = MAX_TOKENS, heads: int = 4):
        super().__init__()
        self.max_tokens = max_tokens
        self.token = nn.Embedding(len(VOCABULARY), dim, padding_idx=PAD)
        self.position = nn.Embedding(max_tokens, dim)
        self.layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0, batch_first=True,
                                                norm_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids int64 [B, L] -> float32 [B, L, dim]; padded positions are masked out of self-attention."""
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.token(ids) + self.position(positions)[None]
        x = self.layer(x, src_key_padding_mask=ids == PAD)
        return self.norm(x)
