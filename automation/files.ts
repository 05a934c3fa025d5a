/**
 * Making directories and writing files for the runner's outputs (`render --out`, reports, `fleet emit`, the local
 * backend and workspaces), so that a bad path is an error that names it rather than a hang.
 */
import * as fs from "fs";
import * as path from "path";
import { UsageError } from "./errors";

/**
 * `mkdir -p` that always ends. Node's recursive mkdir spins forever, at full CPU, where a parent exists but cannot
 * hold children: under /proc, or below a dangling symlink (mkdir answers ENOENT for the child, EEXIST for the parent,
 * and Node retries; seen with Node 20). This creates one level at a time from the nearest existing ancestor, so each
 * error is final: ENOENT, EEXIST (a dangling symlink), ENOTDIR (a file), EACCES.
 */
export function makeDirectory(dir: string): void {
    const missing: string[] = [];
    for (let at = path.resolve(dir); !fs.existsSync(at); at = path.dirname(at)) {
        missing.push(at);
        if (path.dirname(at) === at) break;
    }
    for (const level of missing.reverse()) {
        try {
            fs.mkdirSync(level);
        } catch (error) {
            // Made by someone else meanwhile: as good as made here.
            if ((error as NodeJS.ErrnoException).code !== "EEXIST" || !fs.statSync(level, { throwIfNoEntry: false })?.isDirectory()) throw error;
        }
    }
}

/** Writes a file whole or not at all (its directory made as needed): a CI step or a reader never sees half of it. */
export function writeWhole(file: string, text: string): void {
    const target = path.resolve(file);
    const temporary = `${target}.tmp-${process.pid}`;
    try {
        makeDirectory(path.dirname(target));
        fs.writeFileSync(temporary, text);
        fs.renameSync(temporary, target);
    } catch (error) {
        fs.rmSync(temporary, { force: true });
        const e = error as NodeJS.ErrnoException;
        throw new UsageError(`cannot write ${file} (${e.code ?? e.message}): check the path and its permissions`);
    }
}
