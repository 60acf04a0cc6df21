"""asr: WhisperX (faster-whisper large-v3 + wav2vec2 forced alignment) -> words.json + transcript.

Speech is decoded in the segments of segments.json (the pipeline's VAD stage), handed to WhisperX as
a precomputed VAD, so both profiles' cues follow the same segmentation.

Usage: asr_whisperx.py --in vocals.wav --segments segments.json --language en --model Systran/faster-whisper-large-v3 --revision SHA
         --align-model en=WAV2VEC2_ASR_BASE_960H [--align-model hi=REPO@SHA] --profile cuda|cpu --words words.json --transcript t.txt
Models come from the Hugging Face cache only (the cache:* stages download them).
"""
from __future__ import annotations

import argparse
import os

from dataclasses import dataclass

from pipe_common import (StageError, local_snapshot, read_json, run_main, torch_device, words_payload, write_json,
                         write_text)

PROGRAM = "asr"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROGRAM)
    parser.add_argument("--in", dest="input", required=True)
    parser.add_argument("--segments", required=True, help="segments.json from the VAD stage")
    parser.add_argument("--language", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--align-model", action="append", default=[],
                        help="LANG=REPO@REVISION (Hugging Face) or LANG=BUNDLE (torchaudio pipeline in TORCH_HOME)")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--words", required=True)
    parser.add_argument("--transcript", required=True)
    return parser.parse_args()


@dataclass
class SpeechSegment:
    """What whisperx's Vad.merge_chunks reads from a segment."""
    start: float
    end: float
    speaker: str = "UNKNOWN"


def split_long(segments: list[dict], limit: float = 30.0) -> list[SpeechSegment]:
    """Whisper decodes at most 30 s at a time: cut longer speech segments into equal parts."""
    out: list[SpeechSegment] = []
    for seg in segments:
        start, end = float(seg["start"]), float(seg["end"])
        parts = max(1, int((end - start) // limit) + 1)
        step = (end - start) / parts
        out.extend(SpeechSegment(start + i * step, start + (i + 1) * step) for i in range(parts))
    return out


def precomputed_vad(segments: list[SpeechSegment]):
    """A whisperx Vad that returns the pipeline's own speech segments instead of running a model."""
    from whisperx.vads.vad import Vad

    class PrecomputedVad(Vad):
        def __init__(self):
            super().__init__(0.5)

        def __call__(self, audio, **kwargs):
            return segments

        @staticmethod
        def preprocess_audio(audio):
            return audio

        @staticmethod
        def merge_chunks(segs, chunk_size, onset=0.5, offset=None):
            return Vad.merge_chunks(segs, chunk_size, onset, offset) if segs else []

    return PrecomputedVad()


def align_model_for(language: str, specs: list[str]) -> str:
    """The model_name for whisperx.load_align_model: a torchaudio bundle name or a local snapshot folder."""
    for spec in specs:
        lang, _, name = spec.partition("=")
        if lang != language:
            continue
        repo, at, revision = name.partition("@")
        return local_snapshot(repo, revision) if at else name
    known = ", ".join(s.partition("=")[0] for s in specs) or "none"
    raise StageError(f"no alignment model for language '{language}' (have: {known}); add one to config/models.yaml")


def main() -> None:
    args = parse_args()
    if not os.path.exists(args.input):
        raise StageError(f"audio not found: {args.input}")
    import whisperx

    device = torch_device(args.profile)
    compute_type = "float16" if device == "cuda" else "int8"
    whisper_dir = local_snapshot(args.model, args.revision)
    align_model_name = align_model_for(args.language, args.align_model)

    speech = split_long(read_json(args.segments).get("segments", []))
    if not speech:
        raise StageError(f"no speech segments in {args.segments}")
    audio = whisperx.load_audio(args.input)
    model = whisperx.load_model(whisper_dir, device, compute_type=compute_type, language=args.language,
                                vad_model=precomputed_vad(speech), local_files_only=True)
    result = model.transcribe(audio, batch_size=args.batch_size, language=args.language)
    align_model, metadata = whisperx.load_align_model(language_code=args.language, device=device, model_name=align_model_name)
    aligned = whisperx.align(result["segments"], align_model, metadata, audio, device, return_char_alignments=False)

    words = [
        {"word": w.get("word", ""), "start": w.get("start"), "end": w.get("end"), "confidence": w.get("score", 1.0)}
        for segment in aligned["segments"]
        for w in segment.get("words", [])
    ]
    payload = words_payload(args.language, f"whisperx {args.model}@{args.revision[:12]}", words)
    write_json(args.words, payload)
    write_text(args.transcript, " ".join(seg["text"].strip() for seg in aligned["segments"]) + "\n")


if __name__ == "__main__":
    run_main(PROGRAM, main)
