// Validates AsyncAPI documents with the AsyncAPI parser (schema, references, payload schemas):
//   node scripts/validate_asyncapi.mjs docs/events/asyncapi.yaml [more.yaml ...]
// Prints every diagnostic and one verdict line per document; exits 1 when any document has an error.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const parser = new Parser();
let failed = false;
for (const path of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"), { source: path });
  for (const d of diagnostics) {
    console.log(`${path}: ${["error", "warning", "info", "hint"][d.severity]} ${d.code} ${d.path.join(".")}: ${d.message}`);
  }
  const errors = diagnostics.filter((d) => d.severity === 0);
  if (!document || errors.length) {
    failed = true;
    console.log(`${path}: invalid, ${errors.length} errors`);
  } else {
    console.log(`${path}: valid, ${document.channels().length} channels, ${document.operations().length} operations, ` +
      `${document.components().messages().length} messages`);
  }
}
process.exit(failed ? 1 : 0);
