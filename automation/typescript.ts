/**
 * TypeScript programs (and packs) are loaded the way Pulumi's Node.js host loads them (`cmd/run` of the SDK):
 * `typescript` and `ts-node` resolved by the project's own `@pulumi/pulumi` (the project's copies, else the
 * SDK's vendored ones), the project's tsconfig.json, type-checking unless `PULUMI_NODEJS_TRANSPILE_ONLY=true`
 * or the tsconfig says `noCheck`.
 */
import * as fs from "fs";
import * as path from "path";

/**
 * Registers ts-node for `.ts` files once per process. When `.ts` files already load (the runner itself runs
 * under ts-node, as in this repository's tests), a second registration would compile them twice: it is skipped.
 */
export function registerTypeScript(dir: string): void {
    if (require.extensions[".ts"]) return;
    /* eslint-disable @typescript-eslint/no-require-imports */
    let sdkRoot: string;
    try {
        sdkRoot = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [dir] }));
    } catch {
        sdkRoot = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
    }
    const tsutils = require(path.join(sdkRoot, "tsutils")) as {
        loadTypeScriptCompilerOptions(file: string): Record<string, unknown>;
        typeScriptRequireStrings(): { tsnodeRequire: string; typescriptRequire: string };
    };
    const semver = require(require.resolve("semver", { paths: [sdkRoot] })) as typeof import("semver");
    const tsConfigPath = path.resolve(dir, process.env.PULUMI_NODEJS_TSCONFIG_PATH ?? "tsconfig.json");
    const compilerOptions = tsutils.loadTypeScriptCompilerOptions(tsConfigPath);
    const transpileOnlyEnv = process.env.PULUMI_NODEJS_TRANSPILE_ONLY;
    const transpileOnly = transpileOnlyEnv ? transpileOnlyEnv === "true" : (compilerOptions.noCheck as boolean | undefined);
    const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
    const ts = require(typescriptRequire) as { version: string };
    const version = semver.parse(ts.version);
    const useNodeNext = version !== null && version.compare("4.7.0") >= 0;
    require(tsnodeRequire).register({
        compiler: typescriptRequire,
        transpileOnly,
        project: tsConfigPath,
        skipProject: !fs.existsSync(tsConfigPath),
        compilerOptions: {
            target: "ES2020",
            module: useNodeNext ? "nodenext" : "commonjs",
            moduleResolution: useNodeNext ? "nodenext" : "node",
            sourceMap: "true",
            ...compilerOptions,
        },
    });
    /* eslint-enable @typescript-eslint/no-require-imports */
}
