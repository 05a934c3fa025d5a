#!/usr/bin/env node
/**
 * Run by `npm pack` (prepack), after the build: the package's declarations of internal modules lose their comments.
 * The public API's (`index.d.ts`, `types.d.ts`, `rayS3Access.d.ts`) keep theirs: editors show them to program authors.
 * The files are build output under bin/, so nothing in the sources changes.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain Node.js script, run before anything is compiled */
const fs = require("fs");
const path = require("path");
const ts = require("typescript");

const root = path.join(__dirname, "..", "bin", "components");
const PUBLIC = new Set(["index.d.ts", "types.d.ts", "rayS3Access.d.ts"].map((f) => path.join(root, f)));
/** The text without its comments (the scanner's comment trivia), blank lines they leave collapsed. */
function withoutComments(text) {
    const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, text);
    let out = "";
    for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
        if (kind === ts.SyntaxKind.SingleLineCommentTrivia || kind === ts.SyntaxKind.MultiLineCommentTrivia) continue;
        out += scanner.getTokenText();
    }
    return out
        .replace(/\n[ \t]*(?=\n)/g, "\n")
        .replace(/\n{2,}/g, "\n")
        .replace(/^\n+/, "");
}
let saved = 0;
const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (entry.name.endsWith(".d.ts") && !PUBLIC.has(file)) {
            const text = fs.readFileSync(file, "utf8");
            const stripped = withoutComments(text);
            saved += text.length - stripped.length;
            fs.writeFileSync(file, stripped);
        }
    }
};
walk(root);
// stderr: `npm pack --json` prints its report on stdout.
process.stderr.write(`internal declarations without comments: ${saved} bytes less\n`);
