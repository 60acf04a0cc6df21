/**
 * A CSV or TSV sample sheet (`foreach: {csv: samples.csv}`, `{tsv: samples.tsv}`) → one map per row, keyed by
 * the header. Quoting follows RFC 4180 in both (a field in "double quotes" may hold the separator, a newline
 * or "" for a quote). Every problem names the sheet's line and column.
 */

export interface SheetRow {
  values: Record<string, string>;
  /** the row's first line in the sheet (1-based) */
  line: number;
}

export class SheetError extends Error {
  constructor(readonly line: number, readonly col: number | undefined, detail: string) {
    super(detail);
  }
}

/** A header name is used as `${item.NAME}`: the characters a reference's key may hold. */
const COLUMN_NAME = /^[A-Za-z0-9_-]+$/;

export function parseSheet(text: string, separator: ',' | '\t'): SheetRow[] {
  const records = splitRecords(text.replace(/^\uFEFF/, ''), separator).filter((r) => !(r.fields.length === 1 && r.fields[0] === ''));
  const header = records.shift();
  if (!header) throw new SheetError(1, undefined, 'the sheet is empty: it needs a header line naming the columns');
  const columns = header.fields.map((f) => f.trim());
  columns.forEach((name, i) => {
    const col = header.cols[i];
    if (name === '') throw new SheetError(header.line, col, `column ${i + 1} of the header has no name`);
    if (!COLUMN_NAME.test(name)) throw new SheetError(header.line, col, `column name '${name}' must be letters, digits, _ or - (it is used as \${item.${name}})`);
    if (columns.indexOf(name) !== i) throw new SheetError(header.line, col, `column '${name}' is named twice in the header`);
  });
  if (records.length === 0) throw new SheetError(header.line, undefined, 'the sheet has a header but no rows');
  return records.map((r) => {
    if (r.fields.length !== columns.length) {
      throw new SheetError(r.line, undefined, `this row has ${r.fields.length} field${r.fields.length === 1 ? '' : 's'}, the header has ${columns.length} (${columns.join(', ')})`);
    }
    const values: Record<string, string> = Object.create(null);
    columns.forEach((name, i) => (values[name] = r.fields[i]!));
    return { values, line: r.line };
  });
}

interface RawRecord {
  fields: string[];
  /** the column each field starts at (1-based) */
  cols: number[];
  line: number;
}

/** One pass over the text: fields, records, quotes; a quote left open names the line it was opened on. */
function splitRecords(text: string, separator: string): RawRecord[] {
  const records: RawRecord[] = [];
  let line = 1;
  let col = 1;
  let record: RawRecord = { fields: [], cols: [], line: 1 };
  let field = '';
  let fieldCol = 1;
  let quoted: { line: number; col: number } | undefined;
  let afterQuote = false;
  const endField = () => {
    record.fields.push(field);
    record.cols.push(fieldCol);
    field = '';
    afterQuote = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
        col += 2;
        continue;
      }
      if (c === '"') {
        quoted = undefined;
        afterQuote = true;
      } else field += c;
      if (c === '\n') {
        line++;
        col = 1;
      } else col++;
      continue;
    }
    if (c === separator) {
      endField();
      col++;
      fieldCol = col;
      continue;
    }
    if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endField();
      records.push(record);
      line++;
      col = 1;
      fieldCol = 1;
      record = { fields: [], cols: [], line };
      continue;
    }
    if (afterQuote) throw new SheetError(line, col, `unexpected '${c}' after a closing quote (write "" for a quote inside a quoted field)`);
    if (c === '"' && field === '') {
      quoted = { line, col };
    } else {
      if (c === '"') throw new SheetError(line, col, 'a quote inside an unquoted field (quote the whole field and write "" for the quote)');
      field += c;
    }
    col++;
  }
  if (quoted) throw new SheetError(quoted.line, quoted.col, 'this quote is never closed');
  if (field !== '' || record.fields.length > 0 || afterQuote) {
    endField();
    records.push(record);
  }
  return records;
}
