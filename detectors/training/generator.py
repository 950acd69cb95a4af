"""The generative process behind the image detector's synthetic class (training only; needs torch).

A small convolutional auto-encoder compresses a photograph 12× (16 channels at 1/8 resolution) and a
learned decoder re-synthesises every pixel, up-sampling three times the way GAN and latent-diffusion
decoders do. The decoder's up-sampling is the variable: "transposed" (strided transposed convolutions),
"nearest" or "bilinear" (resize, then convolution).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

STEPS = 1000
CROP = 64
BATCH = 12


def _up(mode: str, cin: int, cout: int) -> list[nn.Module]:
    if mode == "transposed":
        return [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1), nn.ReLU()]
    return [nn.Upsample(scale_factor=2, mode=mode), nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]


def build(mode: str) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 32, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(64, 16, 1),
        *_up(mode, 16, 48), *_up(mode, 48, 24), *_up(mode, 24, 16),
        nn.Conv2d(16, 3, 3, padding=1),
    )


def train_autoencoder(photos: list[np.ndarray], mode: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    rng = np.random.default_rng(seed)
    model = build(mode)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for step in range(STEPS):
        batch = []
        for _ in range(BATCH):
            img = photos[rng.integers(len(photos))]
            y, x = rng.integers(img.shape[0] - CROP), rng.integers(img.shape[1] - CROP)
            batch.append(img[y : y + CROP, x : x + CROP])
        t = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float() / 255.0
        loss = torch.mean(torch.abs(model(t) - t))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 500 == 0 or step == STEPS - 1:
            print(f"  auto-encoder {mode}: step {step} L1 {loss.item():.4f}")
    return model.eval()


def reconstruct(model: nn.Module, rgb: np.ndarray) -> np.ndarray:
    """The decoder's re-synthesis of a whole photograph (height and width multiples of 8)."""
    with torch.no_grad():
        t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255.0
        out: np.ndarray = model(t)[0].permute(1, 2, 0).numpy()
    pixels: np.ndarray = np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)
    return pixels
