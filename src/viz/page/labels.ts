/** How the page writes labels on the canvas: under each node, cut to the room between two layers; hover cards. */
import type { NodeHoverDrawingFunction, NodeLabelDrawingFunction } from 'sigma/rendering';
import type { StageState } from '../model.js';
import { STATE_STYLES } from '../states.js';

type Settings = Parameters<NodeLabelDrawingFunction>[2];

/** 'asr:whisperx@film1' -> ['asr:whisperx', '@film1']: the stage on one line, its job on a second, quieter one. */
export function labelLines(label: string): [string] | [string, string] {
  const at = label.lastIndexOf('@');
  return at > 0 ? [label.slice(0, at), label.slice(at)] : [label];
}

/** The longest prefix of text (with '…') that fits in max pixels. */
export function fitText(ctx: CanvasRenderingContext2D, text: string, max: number): string {
  if (ctx.measureText(text).width <= max) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= max) lo = mid;
    else hi = mid - 1;
  }
  return lo > 0 ? `${text.slice(0, lo)}…` : '';
}

const font = (settings: Settings, weight: number, size: number): string => `${weight} ${size}px ${settings.labelFont}`;

function writeLine(ctx: CanvasRenderingContext2D, text: string, x: number, y: number): void {
  ctx.strokeText(text, x, y);
  ctx.fillText(text, x, y);
}

/** `room()`: pixels between two layers at the current zoom, which a label may use. */
export function labelDrawer(room: () => number): NodeLabelDrawingFunction {
  return (ctx, d, settings) => {
    if (!d.label) return;
    const max = Math.max(36, room() - 12);
    const [name, job] = labelLines(d.label);
    const size = settings.labelSize;
    ctx.save();
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.lineWidth = 3;
    ctx.lineJoin = 'round';
    ctx.strokeStyle = 'rgba(255,255,255,0.92)';
    const y = d.y + d.size + 3;
    ctx.font = font(settings, 600, size);
    ctx.fillStyle = '#1f2328';
    writeLine(ctx, fitText(ctx, name, max), d.x, y);
    if (job) {
      ctx.font = font(settings, 400, size - 1);
      ctx.fillStyle = '#57606a';
      writeLine(ctx, fitText(ctx, job, max), d.x, y + size + 2);
    }
    ctx.restore();
  };
}

export interface HoverInfo {
  state?: StageState;
  reason?: string;
  desc?: string;
}

/** The card under a hovered node: its full name, then its state and first reason (or its description). */
export function hoverDrawer(info: (id: string) => HoverInfo): NodeHoverDrawingFunction {
  return (ctx, d, settings) => {
    const key = (d as { key?: string }).key ?? '';
    const { state, reason, desc } = info(key);
    const style = state ? STATE_STYLES[state] : undefined;
    const lines = [d.label || key];
    if (style) lines.push(`${style.marker} ${style.label}${reason && state !== 'fresh' ? `: ${reason}` : ''}`);
    else if (desc) lines.push(desc);
    const size = settings.labelSize;
    ctx.save();
    ctx.font = font(settings, 600, size);
    let width = ctx.measureText(lines[0]!).width;
    ctx.font = font(settings, 400, size);
    for (const line of lines.slice(1)) width = Math.max(width, ctx.measureText(line).width);
    width = Math.min(width, 420);
    const h = lines.length * (size + 5) + 8;
    const w = width + 16;
    const x = Math.min(Math.max(4, d.x - w / 2), ctx.canvas.width / (window.devicePixelRatio || 1) - w - 4);
    const y = d.y + d.size + 4;
    ctx.shadowColor = 'rgba(31,35,40,0.18)';
    ctx.shadowBlur = 8;
    ctx.fillStyle = '#fff';
    ctx.beginPath();
    ctx.roundRect(x, y, w, h, 6);
    ctx.fill();
    ctx.shadowBlur = 0;
    ctx.strokeStyle = style?.stroke ?? '#d0d7de';
    ctx.lineWidth = 1;
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(d.x, d.y, d.size + 3, 0, Math.PI * 2);
    ctx.stroke();
    ctx.textBaseline = 'top';
    ctx.textAlign = 'left';
    lines.forEach((line, i) => {
      ctx.font = font(settings, i === 0 ? 600 : 400, size);
      ctx.fillStyle = i === 0 ? '#1f2328' : (style?.stroke ?? '#57606a');
      ctx.fillText(fitText(ctx, line, width), x + 8, y + 6 + i * (size + 5));
    });
    ctx.restore();
  };
}
