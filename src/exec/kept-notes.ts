/**
 * The notes for earlier outputs that pipe had not recorded and kept under `.pipe/backup/` instead of removing.
 * A first run over a folder of existing outputs can keep thousands: the first few are named, then one line
 * says how many more and the folder that holds them all.
 */
export class KeptOutputNotes {
  private count = 0;
  private folder: string | undefined;

  constructor(
    private readonly note: (text: string) => void,
    private readonly named = 5,
  ) {}

  add(out: string, kept: string): void {
    this.count++;
    this.folder ??= kept.endsWith(`/${out}`) ? kept.slice(0, -out.length - 1) : undefined;
    if (this.count <= this.named) {
      this.note(`the earlier ${out} was not the output pipe recorded (edited by hand, or never recorded): kept it at ${kept}`);
    }
  }

  close(): void {
    const more = this.count - this.named;
    if (more <= 0) return;
    const where = this.folder ? `under ${this.folder}/` : 'under .pipe/backup/';
    this.note(`... and ${more.toLocaleString('en-US')} more earlier outputs pipe had not recorded: all ${this.count.toLocaleString('en-US')} kept ${where}`);
  }
}
