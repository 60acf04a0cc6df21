// Writes the JSON Schema of pipeline.yaml (generated from the zod schema) for editors.
import { mkdirSync, writeFileSync } from 'node:fs';
import { pipelineJsonSchema } from '../dist/pipeline/schema.js';

const out = new URL('../schema/pipeline.schema.json', import.meta.url);
mkdirSync(new URL('.', out), { recursive: true });
writeFileSync(out, JSON.stringify(pipelineJsonSchema(), null, 2) + '\n');
