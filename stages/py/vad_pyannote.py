"""vad: speech segments with PyAnnote segmentation-3.0 -> segments.json (same format as stages/vad.mjs).

Usage: vad_pyannote.py --in vocals.wav --out segments.json --model pyannote/segmentation-3.0 --revision SHA [--profile cuda]
"""
from __future__ import annotations

import argparse
import os

from pipe_common import StageError, local_snapshot, run_main, torch_device, write_json

PROGRAM = "vad"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROGRAM)
    parser.add_argument("--in", dest="input", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", required=True, help="Hugging Face repo of the segmentation model")
    parser.add_argument("--revision", required=True)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--min-duration-on", type=float, default=0.25)
    parser.add_argument("--min-duration-off", type=float, default=0.4)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not os.path.exists(args.input):
        raise StageError(f"audio not found: {args.input}")
    import torch
    import torchaudio
    from pyannote.audio import Model
    from pyannote.audio.pipelines import VoiceActivityDetection

    checkpoint = os.path.join(local_snapshot(args.model, args.revision), "pytorch_model.bin")
    model = Model.from_pretrained(checkpoint)
    pipeline = VoiceActivityDetection(segmentation=model)
    # segmentation-3.0 is a powerset model: only the minimum durations are tunable.
    pipeline.instantiate({"min_duration_on": args.min_duration_on, "min_duration_off": args.min_duration_off})
    pipeline.to(torch.device(torch_device(args.profile)))

    waveform, rate = torchaudio.load(args.input)
    speech = pipeline({"waveform": waveform, "sample_rate": rate})
    segments = [
        {"start": round(seg.start, 3), "end": round(seg.end, 3)} for seg in speech.get_timeline().support()
    ]
    write_json(args.out, {"audio_duration": round(waveform.shape[1] / rate, 3), "engine": "pyannote segmentation-3.0",
                          "segments": segments})


if __name__ == "__main__":
    run_main(PROGRAM, main)
