// Builds the console into api/console/static (committed, so users never run this):
//   npm ci && npm run build
// One bundle (console.js), the stylesheet, the page, and THIRD_PARTY_LICENSES.txt holding the licence
// of every package whose code is inside the bundle (read from esbuild's metafile).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "api", "console", "static");
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  legalComments: "none", // the licences go to THIRD_PARTY_LICENSES.txt whole
  outfile: join(out, "console.js"),
  metafile: true,
  logLevel: "warning",
});
copyFileSync(join(here, "src", "console.css"), join(out, "console.css"));
copyFileSync(join(here, "src", "index.html"), join(out, "index.html"));

const packages = new Set();
const bundled = Object.values(result.metafile.outputs)[0].inputs;
for (const [input, { bytesInOutput }] of Object.entries(bundled)) {
  if (!bytesInOutput) continue;
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (match) packages.add(match[1]);
}
const sections = [...packages].sort().map((name) => {
  const root = join(here, "node_modules", name);
  const meta = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const file = readdirSync(root).find((f) => /^(licen[cs]e|copying)/i.test(f));
  if (!file) throw new Error(`${name} ships no licence file`);
  const text = readFileSync(join(root, file), "utf8").trim();
  return `${name} ${meta.version} (${meta.license})\n${"=".repeat(60)}\n${text}\n`;
});
writeFileSync(
  join(out, "THIRD_PARTY_LICENSES.txt"),
  "Third-party code bundled in console.js, with its licence.\n\n" + sections.join("\n"),
);
console.log(`console.js ${result.metafile.outputs[Object.keys(result.metafile.outputs)[0]].bytes} bytes; ` +
  `${packages.size} packages: ${[...packages].sort().join(", ")}`);
