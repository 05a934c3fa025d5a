/**
 * `npm run e2e`: the end-to-end run against a real account and cluster: `up`, `verify --canary`, `destroy`.
 * It creates and deletes real resources, so it refuses to start without an explicit opt-in
 * (RAY_S3_ACCESS_E2E=1 and a named --stack), and refuses production stacks. `destroy` runs whatever happened
 * before it (unless --keep), so a failed run leaves nothing behind.
 *
 *     RAY_S3_ACCESS_E2E=1 npm run e2e -- --stack e2e [--canary-image IMAGE] [--keep]
 */
import * as path from "path";
import yargs from "yargs";
import { isProductionStack } from "../policies/lib/stack";
import { main } from "./cli";

export const E2E_OPT_IN = "RAY_S3_ACCESS_E2E";

export interface E2eContext {
    env: NodeJS.ProcessEnv;
    stdout: { write(chunk: string): unknown };
    stderr: { write(chunk: string): unknown };
    /** Runs one `ray-s3-access` command and returns its exit code (default: the CLI in-process). */
    run?: (argv: string[]) => Promise<number>;
}

interface E2eArgs {
    stack?: string;
    cwd: string;
    "canary-image"?: string;
    "canary-timeout": number;
    keep: boolean;
    "allow-production": boolean;
}

function refusal(message: string, context: E2eContext): number {
    context.stderr.write(`e2e: ${message}\n`);
    return 2;
}

/** Runs the end-to-end sequence; returns 0 when every step passed, 1 when one failed, 2 when refused. */
export async function runE2e(argv: string[], context: E2eContext): Promise<number> {
    let args: E2eArgs;
    try {
        args = (await yargs()
            .scriptName("npm run e2e --")
            .option("stack", { type: "string", describe: "The stack to deploy, verify and destroy (required)" })
            .option("cwd", { type: "string", default: ".", describe: "The project directory" })
            .option("canary-image", { type: "string", describe: "Image for the canary Jobs (default: the AWS CLI image)" })
            .option("canary-timeout", { type: "number", default: 300 })
            .option("keep", { type: "boolean", default: false, describe: "Do not destroy at the end (you destroy the stack yourself)" })
            .option("allow-production", { type: "boolean", default: false, describe: "Allow a stack whose name or tags say production" })
            .strict()
            .exitProcess(false)
            .fail((message, error) => {
                throw error ?? new Error(message);
            })
            .parseAsync(argv)) as unknown as E2eArgs;
    } catch (error) {
        return refusal((error as Error).message, context);
    }
    if (context.env[E2E_OPT_IN] !== "1") {
        return refusal(
            `this creates and destroys real IAM roles, policies and Kubernetes objects in the account and cluster your credentials and kubeconfig point at. Set ${E2E_OPT_IN}=1 to opt in.`,
            context,
        );
    }
    if (!args.stack) return refusal("name the stack to use with --stack (a test stack; it is destroyed at the end)", context);
    if (isProductionStack(args.stack, undefined) && !args["allow-production"]) {
        return refusal(
            `stack ${args.stack} looks like production; the e2e run destroys it at the end. Use a test stack, or --allow-production if you really mean it.`,
            context,
        );
    }
    const run = context.run ?? ((a: string[]) => main(a, { stdout: context.stdout as NodeJS.WritableStream, stderr: context.stderr as NodeJS.WritableStream }));
    const common = ["--stack", args.stack, "--cwd", path.resolve(args.cwd)];
    const steps: { name: string; code?: number }[] = [];
    const step = async (name: string, command: string[]) => {
        context.stdout.write(`\n== e2e: ${name} ==\n`);
        const code = await run(command);
        steps.push({ name, code });
        return code;
    };

    // Offline first: the stack exists, its config is valid and passes the policy pack, before anything is created.
    const check = await step("check (offline)", ["check", ...common]);
    if (check !== 0) {
        context.stderr.write(`e2e: stopped before deploying: \`check --stack ${args.stack}\` exited ${check}\n`);
        return check;
    }
    const up = await step("up", ["up", ...common]);
    if (up === 0) {
        await step("verify --canary", [
            "verify",
            ...common,
            "--canary",
            "--canary-timeout",
            String(args["canary-timeout"]),
            ...(args["canary-image"] ? ["--canary-image", args["canary-image"]] : []),
        ]);
    } else {
        steps.push({ name: "verify --canary" });
    }
    if (up === 2) {
        // Exit 2 is a usage or set-up error (no Pulumi CLI, no passphrase): nothing was deployed.
        steps.push({ name: "destroy" });
    } else if (args.keep) {
        steps.push({ name: "destroy" });
        context.stdout.write(`\n== e2e: destroy skipped (--keep); run \`ray-s3-access destroy --stack ${args.stack} --yes\` when done ==\n`);
    } else {
        // Also after a failed up: a partial deployment is cleaned up too.
        await step("destroy", ["destroy", ...common, "--yes"]);
    }
    context.stdout.write("\ne2e summary:\n");
    for (const s of steps)
        context.stdout.write(`  ${s.name.padEnd(16)} ${s.code === undefined ? "skipped" : s.code === 0 ? "passed" : `failed (exit ${s.code})`}\n`);
    return steps.some((s) => s.code !== undefined && s.code !== 0) ? 1 : 0;
}

if (require.main === module) {
    runE2e(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }).then((code) => {
        process.exitCode = code;
    });
}
