"""TAEF2, the tiny auto-encoder for FLUX.2 latents (training only; needs torch from the `train` extra).

Our own module definition, written from the layer description in ../shared/datasets/taef2/README.md;
only the weights (MIT, Ollin Boer Bohan, madebyollin/taesd @ 5cccb12) are loaded, with strict=True.
`resynthesise(rgb)` passes an RGB uint8 image through encoder and decoder: the real photo re-made by a
FLUX.2-family latent decoder (the "aligned dataset" recipe).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

ENCODER_SHA256 = "10a4e1021e89d7551eaf161352da8dbd0b1aa83872ae28b150c1df1ce2f147b6"
DECODER_SHA256 = "0a44a31e1ae59eb9dbf9359d24942fd3ef5928162c1800d97a28c61d51be0ab5"


def conv3(i: int, o: int, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(i, o, kernel_size=3, padding=1, stride=stride, bias=bias)


class ResBlock(nn.Module):
    def __init__(self, with_pool: bool = False) -> None:
        super().__init__()
        self.conv = nn.Sequential(conv3(64, 64), nn.ReLU(), conv3(64, 64), nn.ReLU(), conv3(64, 64))
        self.pool = (nn.Sequential(nn.Conv2d(64, 256, 1, bias=False), nn.GroupNorm(4, 256), nn.ReLU(),
                                   nn.Conv2d(256, 64, 1, bias=False)) if with_pool else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            x = x + self.pool(x)
        return torch.relu(self.conv(x) + x)


class SoftClamp(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 3.0 * torch.tanh(x / 3.0)


def encoder() -> nn.Sequential:
    return nn.Sequential(
        conv3(3, 64), ResBlock(),
        conv3(64, 64, 2, bias=False), ResBlock(), ResBlock(), ResBlock(),
        conv3(64, 64, 2, bias=False), ResBlock(), ResBlock(), ResBlock(),
        conv3(64, 64, 2, bias=False), ResBlock(True), ResBlock(True), ResBlock(True),
        conv3(64, 32),
    )


def decoder() -> nn.Sequential:
    def up() -> nn.Upsample:
        return nn.Upsample(scale_factor=2, mode="nearest")

    return nn.Sequential(
        SoftClamp(), conv3(32, 64), nn.ReLU(), ResBlock(True), ResBlock(True), ResBlock(True),
        up(), conv3(64, 64, bias=False), ResBlock(), ResBlock(), ResBlock(),
        up(), conv3(64, 64, bias=False), ResBlock(), ResBlock(), ResBlock(),
        up(), conv3(64, 64, bias=False), ResBlock(), conv3(64, 3),
    )


class Taef2:
    def __init__(self, weights_dir: Path) -> None:
        torch.set_num_threads(2)
        self.enc, self.dec = encoder(), decoder()
        for net, name in ((self.enc, "taef2_encoder.pth"), (self.dec, "taef2_decoder.pth")):
            net.load_state_dict(torch.load(weights_dir / name, map_location="cpu", weights_only=True), strict=True)
            net.float().eval()

    @torch.no_grad()
    def resynthesise(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 [H, W, 3] (H, W multiples of 8) → the same size after encode → decode."""
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255.0
        y = self.dec(self.enc(x)).clamp(0, 1)
        out: np.ndarray = (y[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
        return out
