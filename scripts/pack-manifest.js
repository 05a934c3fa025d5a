#!/usr/bin/env node
/**
 * `npm pack` / `npm publish` only. `strip` (prepack) leaves the build-time scripts out of the package.json that goes
 * into the tarball, so installing the package shows no install script to approve (npm 11 lists `prepare`, though it
 * never runs it for a tarball); `restore` (postpack) puts the repository's package.json back. A clone still builds on
 * `npm ci` and a git-URL install still builds through `prepare`: only the packed copy is without it.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain Node.js script, run before anything is compiled */
const fs = require("fs");
const path = require("path");

const manifest = path.join(__dirname, "..", "package.json");
const saved = path.join(__dirname, "..", ".package.json.prepack");

if (process.argv[2] === "strip") {
    const text = fs.readFileSync(manifest, "utf8");
    // An interrupted pack leaves the saved copy: it is the original, never overwrite it with a stripped one.
    if (!fs.existsSync(saved)) fs.writeFileSync(saved, text);
    const parsed = JSON.parse(fs.readFileSync(saved, "utf8"));
    delete parsed.scripts.prepare;
    fs.writeFileSync(manifest, `${JSON.stringify(parsed, null, 2)}\n`);
} else if (process.argv[2] === "restore") {
    if (fs.existsSync(saved)) fs.renameSync(saved, manifest);
} else {
    console.error("usage: pack-manifest.js strip|restore");
    process.exit(2);
}
