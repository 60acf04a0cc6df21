"""separate: isolates the vocals of a 16 kHz mono WAV with Demucs (htdemucs), writes 16 kHz mono vocals.

Usage: separate_demucs.py --in audio.wav --out vocals.wav [--model htdemucs] [--profile cuda|mlx|cpu]
The htdemucs weights are read from TORCH_HOME/hub/checkpoints (the cache:demucs-htdemucs stage puts them there).
"""
from __future__ import annotations

import argparse
import os

from pipe_common import StageError, run_main, torch_device

PROGRAM = "separate"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROGRAM)
    parser.add_argument("--in", dest="input", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", default="htdemucs")
    parser.add_argument("--profile", default="cpu")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not os.path.exists(args.input):
        raise StageError(f"audio not found: {args.input}")
    import torch
    import torchaudio
    from demucs.apply import apply_model
    from demucs.pretrained import get_model

    device = torch_device(args.profile)
    model = get_model(args.model)
    model.to(device).eval()

    wav, rate = torchaudio.load(args.input)
    wav = torchaudio.functional.resample(wav, rate, model.samplerate)
    if wav.shape[0] != model.audio_channels:  # htdemucs expects stereo
        wav = wav.mean(0, keepdim=True).repeat(model.audio_channels, 1)
    ref = wav.mean(0)
    mean, std = ref.mean(), ref.std() + 1e-8
    with torch.no_grad():
        sources = apply_model(model, ((wav - mean) / std)[None].to(device), device=device, shifts=1, split=True, overlap=0.25)[0]
    vocals = sources[model.sources.index("vocals")].cpu() * std + mean
    vocals = torchaudio.functional.resample(vocals.mean(0, keepdim=True), model.samplerate, 16000)

    folder = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(args.out)}.tmp.wav")
    torchaudio.save(tmp, vocals.clamp(-1, 1), 16000, encoding="PCM_S", bits_per_sample=16)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    run_main(PROGRAM, main)
