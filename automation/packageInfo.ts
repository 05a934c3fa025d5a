/**
 * This package's root and version, from its package.json. Only `fs` and `path`: the CLI reads the version while it
 * builds its parser, so `--help` and `--version` load nothing else.
 */
import * as fs from "fs";
import * as path from "path";

/** The package's name (and the bundled program's project name). */
export const BUNDLED_PROJECT = "ray-s3-access";

/** This package's root: the directory of its package.json, from the source tree or from `bin/`. */
export function packageRoot(): string {
    let dir = __dirname;
    for (let i = 0; i < 4; i++) {
        const manifest = path.join(dir, "package.json");
        if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, "utf8")).name === BUNDLED_PROJECT) return dir;
        dir = path.dirname(dir);
    }
    throw new Error(`cannot find the ${BUNDLED_PROJECT} package root above ${__dirname}`);
}

/** This package's version, from its package.json. */
export function packageVersion(): string {
    return String(JSON.parse(fs.readFileSync(path.join(packageRoot(), "package.json"), "utf8")).version);
}
