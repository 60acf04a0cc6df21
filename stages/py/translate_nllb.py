"""translate: cues with NLLB-200 (transformers), one cue per input sentence -> cues.TARGET.json.

Usage: translate_nllb.py --cues cues.en.json --source en --target es --out cues.es.json
         --model facebook/nllb-200-distilled-600M --revision SHA [--profile cuda]
"""
from __future__ import annotations

from languages import flores
from pipe_common import translation_args, local_snapshot, read_cues, run_main, torch_device, translated_cues, write_json

PROGRAM = "translate"


def parse_args():
    return translation_args(PROGRAM, batch_size=16)


def main() -> None:
    args = parse_args()
    cues = read_cues(args.cues)
    src_lang, tgt_lang = flores(args.source), flores(args.target)
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    model_dir = local_snapshot(args.model, args.revision)
    device = torch_device(args.profile)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, src_lang=src_lang, local_files_only=True)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, local_files_only=True).to(device).eval()
    target_token = tokenizer.convert_tokens_to_ids(tgt_lang)

    texts = [cue["text"] for cue in cues]
    out: list[str] = []
    for i in range(0, len(texts), args.batch_size):
        batch = tokenizer(texts[i:i + args.batch_size], return_tensors="pt", padding=True, truncation=True,
                          max_length=256).to(device)
        with torch.inference_mode():
            generated = model.generate(**batch, forced_bos_token_id=target_token, num_beams=4, max_length=256)
        out.extend(tokenizer.batch_decode(generated, skip_special_tokens=True))
    write_json(args.out, translated_cues(cues, out, args.target, args.source, f"nllb {args.model}@{args.revision[:12]}"))


if __name__ == "__main__":
    run_main(PROGRAM, main)
