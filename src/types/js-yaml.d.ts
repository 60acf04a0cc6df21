/** The part of js-yaml 4 (which ships no types) that pipeline/fast-yaml.ts uses. */
declare module 'js-yaml' {
  interface TypeOptions {
    kind: 'scalar' | 'sequence' | 'mapping';
    resolve?: (data: string | null) => boolean;
    construct?: (data: string | null) => unknown;
  }
  export class Type {
    constructor(tag: string, options: TypeOptions);
  }
  export class Schema {
    extend(types: { implicit?: Type[]; explicit?: Type[] }): Schema;
  }
  export const FAILSAFE_SCHEMA: Schema;
  export interface LoaderState {
    anchorMap: Record<string, unknown>;
    tag: string | null;
  }
  export function load(text: string, options?: { schema?: Schema; json?: boolean; listener?: (event: 'open' | 'close', state: LoaderState) => void }): unknown;
  const jsyaml: { load: typeof load; Type: typeof Type; FAILSAFE_SCHEMA: Schema };
  export default jsyaml;
}
