#!/usr/bin/env node
/**
 * ray-s3-access: render and check stacks offline, and preview / up / destroy / refresh / outputs them with
 * the Automation API, per environment, per tenant (--per-tenant) or per namespace (--tenant, --discover).
 *
 * --cwd (default: the current directory) is either a Pulumi project (`Pulumi.yaml`: the user's own program)
 * or a directory of stack files for the program bundled in this package. See ./project.ts.
 *
 * Exit codes: 0 success, 1 policy violations or failed stacks, 2 usage or configuration errors.
 *
 * This module loads only yargs and the argument checks: the Pulumi, AWS and Kubernetes SDKs are imported by
 * the command that needs them, so `--help` and usage errors answer at once.
 */
import { nearestName } from "../components/names";
import { packageVersion } from "./packageInfo";
import * as path from "path";
import yargs, { Argv, CommandModule } from "yargs";
import type { CanaryKube, CanarySdk } from "./verify/canary";
import type { Operation, StackDriver } from "./driver";
import { backendUrlProblem } from "./backends";
import { abandonedWork, CancelledError, isUsageError, UsageError } from "./errors";
import type { Project } from "./project";
import type { StackTarget } from "./stacks";
import type { VerifyClients } from "./verify";

/** Lists namespace names matching a label selector (the real one reads the cluster through kubeconfig). */
export type NamespaceLister = (labelSelector: string) => Promise<string[]>;

/** What the commands need from the outside world; tests pass fakes. */
export interface CliContext {
    stdout: NodeJS.WriteStream | { write(text: string): unknown; isTTY?: boolean };
    stderr: NodeJS.WriteStream | { write(text: string): unknown; isTTY?: boolean };
    driver?: (project: Project) => StackDriver;
    listNamespaces?: NamespaceLister;
    /** AWS and Kubernetes clients for `verify` (default: the AWS SDK's credential chain and kubeconfig). */
    verifyClients?: (region: string) => VerifyClients;
    /** The Kubernetes calls of `verify --canary` (default: kubeconfig). */
    canaryKube?: () => Promise<CanaryKube>;
    /** How often canary Jobs are polled (default 2 s). */
    canaryPollMs?: number;
    /** Where `up`, `refresh` and `destroy` read the answer to their question (a terminal, or none: they need --yes). */
    stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
    /** Aborted on Ctrl-C. */
    signal?: AbortSignal;
    exitCode: number;
    /** The command that was run (`up`, `fleet plan`), for messages; set by `main`. */
    command?: string;
    /** --json was given: a failure still prints one JSON document on stdout. */
    json?: boolean;
}

/** The operations that change stacks: they ask first on a terminal, and need --yes without one. */
const CHANGING: readonly Operation[] = ["up", "refresh", "destroy"];

/** The stacks an operation runs on, for a message: the first few names and how many more. */
function listStacks(targets: StackTarget[]): string {
    const names = targets.map((t) => t.stack);
    return names.length <= 5 ? names.join(", ") : `${names.slice(0, 5).join(", ")} and ${names.length - 5} more`;
}

/**
 * `render` and `check`: the selected stacks evaluated offline, with a bar of stacks and tenants on a terminal (cleared
 * before the results are printed).
 */
async function renderWithProgress(context: CliContext, args: CommonArgs & { "account-id"?: string; timeout?: number }) {
    const [{ EvaluationProgress }, { renderTargets }] = await Promise.all([import("./progress"), import("./offline")]);
    const { project, targets } = await targetsFor(args, context);
    const progress = new EvaluationProgress(context, args.json, targets.length);
    try {
        return await renderTargets(project, targets, {
            accountId: args["account-id"],
            signal: context.signal,
            timeoutMs: args.timeout && args.timeout * 1000,
            progress,
        });
    } finally {
        progress.stop();
    }
}

/** Reads one answer from the terminal; undefined when input ends or Ctrl-C aborts. */
async function ask(context: CliContext, question: string, to: CliContext["stdout"]): Promise<string | undefined> {
    const readline = await import("readline");
    const input = context.stdin!;
    return new Promise((resolve) => {
        const rl = readline.createInterface({ input, output: to as NodeJS.WritableStream, terminal: false });
        let settled = false;
        const done = (answer: string | undefined) => {
            if (settled) return;
            settled = true;
            context.signal?.removeEventListener("abort", onAbort);
            rl.close();
            resolve(answer);
        };
        const onAbort = () => done(undefined);
        context.signal?.addEventListener("abort", onAbort);
        rl.once("line", (line) => done(line.trim().toLowerCase()));
        rl.once("close", () => done(undefined));
        to.write(question);
    });
}

interface CommonArgs {
    stack?: string[];
    project?: string;
    backend?: string;
    "per-tenant": boolean;
    shards?: boolean;
    "skip-environment"?: boolean;
    tenant?: string[];
    json: boolean;
    cwd: string;
    discover?: string;
}

interface PolicyArgs {
    "policy-pack"?: string;
    "policy-pack-config"?: string;
}

/** `--NAME` must be a whole number of at least `min`; the message quotes what was given. */
function wholeNumber(name: string, min: number, unit = "") {
    return (value: unknown): number => {
        const text = Array.isArray(value) ? String(value[value.length - 1]) : String(value);
        const number = Number(text);
        if (text.trim() === "" || !Number.isInteger(number) || number < min) {
            throw new UsageError(`--${name} "${text}" must be a whole number${unit}, at least ${min}`);
        }
        return number;
    };
}

function accountId(value: unknown): string | undefined {
    if (value === undefined) return undefined;
    const text = String(value);
    if (!/^\d{12}$/.test(text)) throw new UsageError(`--account-id "${text}" must be an AWS account id: 12 digits, e.g. 111122223333`);
    return text;
}

function commonOptions<T>(y: Argv<T>) {
    return (
        y
            // nargs 1: each --stack takes one value (repeat the flag), so a positional after it stays a positional.
            .option("stack", {
                type: "string",
                array: true,
                nargs: 1,
                requiresArg: true,
                describe: "Stack to run (repeatable); default: every Pulumi.STACK.yaml",
            })
            .option("per-tenant", { type: "boolean", default: false, describe: "Bundled program: one stack per tenant, named STACK.NAMESPACE" })
            .option("shards", {
                type: "boolean",
                default: false,
                describe: "Bundled program: every shard stack (ENV.shard_NNN, from `fleet plan --write`) of the selected environments, after the environment",
            })
            .option("skip-environment", {
                type: "boolean",
                default: false,
                describe: "With shard stacks: leave out their environment stacks (they ran before, in an earlier CI job)",
            })
            .option("tenant", {
                type: "string",
                array: true,
                nargs: 1,
                requiresArg: true,
                describe: "Bundled program: only these tenants (namespaces; repeatable)",
            })
            .option("discover", {
                type: "string",
                requiresArg: true,
                // An empty selector (an unset variable in `--discover "$SELECTOR"`) would select every namespace.
                coerce: (value: string) => {
                    if (value.trim() === "")
                        throw new UsageError('--discover "" is an empty label selector, which selects every namespace: give one (team=ml), or drop --discover');
                    return value;
                },
                describe: "Bundled program: only tenants whose namespace exists in the cluster with this label selector (kubeconfig)",
            })
            .option("json", { type: "boolean", default: false, describe: "Machine-readable output on stdout" })
            .option("project", {
                type: "string",
                requiresArg: true,
                describe: "Bundled program: the Pulumi project name of its stacks (default ray-s3-access), so two teams on one backend do not collide",
            })
            .option("cwd", {
                type: "string",
                default: ".",
                requiresArg: true,
                describe: "Your Pulumi project (a Pulumi.yaml: its own program), or a directory of Pulumi.STACK.yaml files for the bundled program",
            })
    );
}

/** Where the stacks' state lives (the commands that run the Pulumi CLI). */
function backendOption<T>(y: Argv<T>) {
    return y.option("backend", {
        type: "string",
        requiresArg: true,
        coerce: (value: string) => {
            const problem = backendUrlProblem("--backend", value);
            if (problem) throw new UsageError(problem);
            return value;
        },
        describe:
            "Pulumi backend URL (https://api.pulumi.com, s3://bucket, file://DIR, ...); default PULUMI_BACKEND_URL, else for the bundled program file://<--cwd>/.pulumi-state",
    });
}

function policyOptions<T>(y: Argv<T>) {
    return y
        .option("policy-pack", { type: "string", requiresArg: true, describe: "Policy pack directory (default: the pack in this package)" })
        .option("policy-pack-config", {
            type: "string",
            requiresArg: true,
            describe: "Policy pack config JSON (per policy: enforcementLevel, productionStacks, exceptions)",
        });
}

function accountOption<T>(y: Argv<T>, describe: string) {
    return y.option("account-id", { type: "string", requiresArg: true, coerce: accountId, describe }).option("timeout", {
        type: "number",
        requiresArg: true,
        coerce: wholeNumber("timeout", 1, " of seconds"),
        describe: "Seconds one stack's evaluation (and check's policy phase) may take before the run ends with exit 2 (default 120, and 20 ms more a tenant)",
    });
}

async function defaultListNamespaces(labelSelector: string): Promise<string[]> {
    const k8s = await import("@kubernetes/client-node");
    const config = new k8s.KubeConfig();
    config.loadFromDefault();
    const api = config.makeApiClient(k8s.CoreV1Api);
    const list = await api.listNamespace({ labelSelector });
    return list.items.map((ns) => ns.metadata?.name).filter((name): name is string => typeof name === "string");
}

async function targetsFor(args: CommonArgs, context: CliContext): Promise<{ project: Project; targets: StackTarget[] }> {
    const { loadProject } = await import("./project");
    const { selectTargets } = await import("./stacks");
    const project = loadProject(args.cwd);
    if (args.project !== undefined) {
        if (project.mode === "own") {
            throw new UsageError(`--project names the bundled program's project; ${project.dir} has its own (name: ${project.name} in its Pulumi.yaml)`);
        }
        if (!/^[A-Za-z0-9_.-]{1,100}$/.test(args.project)) {
            throw new UsageError(`--project "${args.project}" is not a Pulumi project name: 1 to 100 letters, digits, "_", "." and "-"`);
        }
        project.name = args.project;
    }
    let tenants = args.tenant;
    if (args.discover !== undefined) {
        if (project.mode === "own") throw new UsageError(`--discover filters the bundled program's tenants; ${project.dir} has its own program (Pulumi.yaml)`);
        const list = context.listNamespaces ?? defaultListNamespaces;
        let discovered: string[];
        try {
            discovered = await list(args.discover);
        } catch (error) {
            throw new UsageError(`--discover "${args.discover}": cannot list namespaces (${(error as Error).message}); check kubeconfig and the selector`);
        }
        const configured = new Set(selectTargets({ project, stacks: args.stack }).flatMap((t) => t.tenants));
        const matched = discovered.filter((ns) => configured.has(ns) && (!tenants || tenants.includes(ns)));
        const unconfigured = discovered.filter((ns) => !configured.has(ns));
        if (unconfigured.length > 0) {
            context.stderr.write(
                `note: namespaces ${unconfigured.join(", ")} match "${args.discover}" but have no tenant entry; add them to ray-s3-access:tenants\n`,
            );
        }
        if (matched.length === 0) {
            throw new UsageError(`--discover "${args.discover}" found no namespace that is a configured tenant (found: ${discovered.join(", ") || "none"})`);
        }
        tenants = matched;
    }
    return {
        project,
        targets: selectTargets({
            project,
            stacks: args.stack,
            tenants,
            perTenant: args["per-tenant"],
            shards: args.shards,
            skipEnvironment: args["skip-environment"],
        }),
    };
}

function print(stream: CliContext["stdout"], text: string): void {
    stream.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** Errors in the user's configuration or program input, whichever copy of the class threw them: exit 2. */
function isConfigError(error: unknown): boolean {
    const name = (error as Error)?.name;
    return isUsageError(error) || name === "RayS3AccessValidationError" || name === "StackConfigError";
}

/**
 * A failure, as the user reads it: `error: COMMAND: message` on stderr, and with --json one JSON document on stdout
 * (`{"command", "ok": false, "exitCode", "error"}`), so a script that parses stdout always has something to parse.
 */
function fail(context: CliContext, message: string, exitCode: number, prefix = "error: ", problems?: string[]): number {
    print(context.stderr, `${prefix}${context.command ? `${context.command}: ` : ""}${message}`);
    if (context.json)
        print(
            context.stdout,
            JSON.stringify({ command: context.command ?? null, ok: false, exitCode, error: message, ...(problems ? { problems } : {}) }, null, 2),
        );
    return exitCode;
}

/** A config error's whole list of problems (its message lists only the first ones). */
function problemsOf(error: unknown): string[] | undefined {
    const problems = (error as { problems?: unknown })?.problems;
    return isConfigError(error) && Array.isArray(problems) ? problems.map(String) : undefined;
}

/** Runs a handler, mapping errors to exit codes (2 for usage, configuration or missing tools). */
async function guarded(context: CliContext, body: () => Promise<number>): Promise<void> {
    try {
        context.exitCode = await body();
    } catch (error) {
        if (error instanceof CancelledError) {
            context.exitCode = fail(context, `${error.message}: nothing was written`, 130, "");
            return;
        }
        context.exitCode = fail(context, (error as Error)?.message ?? String(error), isConfigError(error) ? 2 : 1, "error: ", problemsOf(error));
    }
}

type RenderArgs = CommonArgs & { out?: string; "account-id"?: string; timeout?: number };

function renderCommand(context: CliContext): CommandModule<object, RenderArgs> {
    return {
        command: "render",
        describe: "Print what each stack would create (every resource; per RayS3Access its trust and permission policies and manifests), offline",
        builder: (y) =>
            accountOption(
                commonOptions(y).option("out", {
                    type: "string",
                    requiresArg: true,
                    describe: "Also write the documents and manifests under this directory (for GitOps)",
                }),
                "AWS account id to show instead of the placeholder 123456789012",
            ) as any,
        handler: (args) =>
            guarded(context, async () => {
                const { formatRendered, stackSummary, writeRendered } = await import("./offline");
                const rendered = await renderWithProgress(context, args);
                if (args.out) {
                    const written = writeRendered(path.resolve(args.out), rendered);
                    context.stderr.write(`wrote ${written.length} files under ${args.out}\n`);
                }
                if (args.json) {
                    const stacks = rendered.map((s) => ({
                        stack: s.stack,
                        resources: s.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs })),
                    }));
                    print(context.stdout, JSON.stringify({ stacks }, null, 2));
                } else {
                    print(context.stdout, [...rendered.map(formatRendered), "", ...rendered.map(stackSummary)].join("\n"));
                }
                return 0;
            }),
    };
}

/** `--stack-tag KEY=VALUE` (repeatable) as a map; the key is everything before the first `=`. */
function stackTags(values: unknown): Record<string, string> {
    const tags: Record<string, string> = {};
    for (const value of [values ?? []].flat().map(String)) {
        const at = value.indexOf("=");
        if (at <= 0) throw new UsageError(`--stack-tag "${value}" must be KEY=VALUE, e.g. --stack-tag environment=prod`);
        tags[value.slice(0, at)] = value.slice(at + 1);
    }
    return tags;
}

type CheckArgs = CommonArgs &
    PolicyArgs & { "account-id"?: string; timeout?: number; sarif?: string; "code-quality"?: string; "stack-tag": Record<string, string> };

/** Writes a file whole or not at all (files.ts; loaded when a command writes one). */
async function writeWhole(file: string, text: string): Promise<void> {
    (await import("./files")).writeWhole(file, text);
}

/** A report as JSON, written whole. */
function writeReport(file: string, value: unknown): Promise<void> {
    return writeWhole(file, `${JSON.stringify(value, null, 2)}\n`);
}

function checkCommand(context: CliContext): CommandModule<object, CheckArgs> {
    return {
        command: "check",
        describe: "Run the policy pack on what each stack would create, offline; exit 1 on a mandatory violation",
        builder: (y) =>
            accountOption(policyOptions(commonOptions(y)), "AWS account id for the offline evaluation")
                .option("sarif", { type: "string", requiresArg: true, describe: "Also write the violations as SARIF 2.1.0 to this file (code scanning)" })
                .option("code-quality", {
                    type: "string",
                    requiresArg: true,
                    describe: "Also write the violations as a GitLab code quality report to this file",
                })
                .option("stack-tag", {
                    type: "string",
                    array: true,
                    requiresArg: true,
                    coerce: stackTags,
                    default: [],
                    describe: "A stack tag the backend would give the policies (KEY=VALUE, repeatable; environment=prod makes a stack production)",
                }) as any,
        handler: (args) =>
            guarded(context, async () => {
                const { assertSomethingChecked, assertSomethingToCheck, checkStack } = await import("./offline");
                const { loadPolicyConfig, loadPolicyPack } = await import("./policyPacks");
                const { assertSomethingJudged } = await import("./policyConfig");
                const { codeQualityReport, oneLine, productionJudgement, sarifLog, workflowCommand } = await import("./report");
                // Paths given on the command line are relative to where the command runs, as in the Pulumi CLI.
                const pack = loadPolicyPack(process.cwd(), args["policy-pack"]);
                const config = loadPolicyConfig(process.cwd(), args["policy-pack-config"], pack.policies);
                const judged = assertSomethingJudged(pack.policies, config, args["policy-pack-config"]);
                const tags = args["stack-tag"] ?? {};
                const rendered = await renderWithProgress(context, args);
                for (const stack of rendered) assertSomethingToCheck(stack);
                assertSomethingChecked(rendered);
                const results = [];
                for (const stack of rendered) {
                    const violations = await checkStack(stack, pack.policies, config, args.timeout && args.timeout * 1000, tags);
                    results.push({ stack, violations, production: productionJudgement(stack.stack, tags, pack.policies, config) });
                }
                const mandatory = results.reduce((n, r) => n + r.violations.filter((v) => v.enforcementLevel === "mandatory").length, 0);
                const count = results.reduce((n, r) => n + r.violations.length, 0);
                if (args.sarif) {
                    const { packageVersion } = await import("./project");
                    await writeReport(args.sarif, sarifLog(pack, results, config, process.cwd(), { name: "ray-s3-access", version: packageVersion() }));
                    context.stderr.write(`wrote SARIF 2.1.0 (${count} result(s)) to ${args.sarif}\n`);
                }
                if (args["code-quality"]) {
                    await writeReport(args["code-quality"], codeQualityReport(results, process.cwd()));
                    context.stderr.write(`wrote a code quality report (${count} result(s)) to ${args["code-quality"]}\n`);
                }
                // Under GitHub Actions every violation is also a workflow command, so it shows on the run and the pull request.
                const github = process.env.GITHUB_ACTIONS === "true";
                if (args.json) {
                    const stacks = results.map(({ stack, violations, production }) => ({
                        stack: stack.stack,
                        production,
                        resources: stack.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs })),
                        violations,
                    }));
                    print(context.stdout, JSON.stringify({ stacks }, null, 2));
                    // A failing CI step shows why on its log, while stdout stays JSON.
                    for (const { violations } of results) {
                        for (const v of violations) {
                            if (github) print(context.stderr, workflowCommand(v));
                            else if (v.enforcementLevel === "mandatory") print(context.stderr, oneLine(v));
                        }
                    }
                } else {
                    for (const { stack, violations, production } of results) {
                        print(
                            context.stdout,
                            `stack ${stack.stack}: ${stack.resources.length} resources, ${violations.length} violation(s); ` +
                                `${production.production ? "production" : "not production"} (${production.reason})`,
                        );
                        for (const v of violations) print(context.stdout, `  [${v.enforcementLevel}] ${v.policy}: ${v.message}\n    ${v.urn}`);
                    }
                    if (github) for (const { violations } of results) for (const v of violations) print(context.stdout, workflowCommand(v));
                    const cannotFail = judged.failing === 0 ? ` (no policy of the ${judged.running} that ran is mandatory: this check cannot fail)` : "";
                    print(
                        context.stdout,
                        mandatory === 0 ? `check passed: no mandatory violation${cannotFail}` : `check failed: ${mandatory} mandatory violation(s)`,
                    );
                }
                return mandatory === 0 ? 0 : 1;
            }),
    };
}

type DeployArgs = CommonArgs & PolicyArgs & { concurrency: number; "fail-fast": boolean; yes: boolean };

async function driverFor(context: CliContext, project: Project, backend?: string): Promise<StackDriver> {
    if (context.driver) return context.driver(project);
    const { AutomationDriver } = await import("./automationDriver");
    return new AutomationDriver({ project, backend, notice: (text) => print(context.stderr, `note: ${text}`) });
}

function deployCommand(context: CliContext, operation: Operation, describe: string): CommandModule<object, DeployArgs> {
    return {
        command: operation,
        describe,
        builder: (y) =>
            // The policy pack runs in preview and up only; the other operations list no pack options.
            backendOption(operation === "preview" || operation === "up" ? policyOptions(commonOptions(y)) : commonOptions(y))
                .option("concurrency", { type: "string", default: "4", coerce: wholeNumber("concurrency", 1), describe: "Stacks at once" })
                .option("fail-fast", { type: "boolean", default: false, describe: "Stop starting stacks (and cancel running ones) after the first failure" })
                .option("yes", {
                    type: "boolean",
                    default: false,
                    hidden: !CHANGING.includes(operation),
                    describe: `${operation} without asking (needed where there is no terminal to ask on, as in CI)`,
                }) as any,
        handler: (args) =>
            guarded(context, async () => {
                const { exitCodeOf, runOperation, summaryJson, summaryTable } = await import("./orchestrate");
                const { progressFor } = await import("./progress");
                const { loadPolicyConfig, loadPolicyPack, policyPackDir } = await import("./policyPacks");
                const cwd = process.cwd();
                if (args["policy-pack-config"] !== undefined && (operation === "preview" || operation === "up")) {
                    // The CLI would run the pack with a config it half-checks: refuse it here, as check does.
                    loadPolicyConfig(cwd, args["policy-pack-config"], loadPolicyPack(cwd, args["policy-pack"]).policies);
                }
                const { project, targets } = await targetsFor(args, context);
                const confirming = CHANGING.includes(operation) && !args.yes;
                const interactive = context.stdin?.isTTY === true && context.stdout.isTTY === true;
                if (confirming && !interactive) {
                    throw new UsageError(
                        `${operation} would change ${targets.length} stack(s) (${listStacks(targets)}) and there is no terminal to ask on: ` +
                            `re-run with --yes to confirm (as \`pulumi ${operation}\` needs --yes when it cannot ask)`,
                    );
                }
                const driver = await driverFor(context, project, args.backend);
                const progressStream = (args.json ? context.stderr : context.stdout) as NodeJS.WriteStream;
                const signal = context.signal ?? new AbortController().signal;
                /** Runs one operation on every target with live progress of its own, stopped before anything else prints. */
                const run = async (what: Operation) => {
                    const progress = progressFor(context, args.json);
                    try {
                        return await runOperation(driver, what, targets, {
                            concurrency: args.concurrency,
                            failFast: args["fail-fast"],
                            signal,
                            policyPacks: [policyPackDir(cwd, args["policy-pack"])],
                            policyPackConfigs: args["policy-pack-config"] ? [path.resolve(cwd, args["policy-pack-config"])] : [],
                            progress,
                        });
                    } finally {
                        progress.stop?.();
                    }
                };
                if (confirming) {
                    // As `pulumi up` does: show what would change, then ask. Questions go where progress goes.
                    const { productionReason } = await import("../policies/lib/stack");
                    // Production stacks first, every one of them; the others up to a screenful.
                    const marked = targets.map((t) => ({ stack: t.stack, why: productionReason(t.stack, undefined) }));
                    const production = marked.filter((m) => m.why !== undefined);
                    const others = marked.filter((m) => m.why === undefined);
                    const shown = others.slice(0, Math.max(0, 40 - production.length));
                    const lines = [
                        ...production.map((m) => `  ${m.stack}   PRODUCTION (${m.why})`),
                        ...shown.map((m) => `  ${m.stack}`),
                        ...(others.length > shown.length ? [`  ... and ${others.length - shown.length} more (not production)`] : []),
                    ];
                    print(progressStream, `${operation} will run on ${targets.length} stack(s):\n${lines.join("\n")}`);
                    if (operation === "up") {
                        await driver.prepare("preview", targets);
                        const previews = await run("preview");
                        print(progressStream, `\n${summaryTable(previews)}`);
                        if (exitCodeOf(previews) !== 0) return fail(context, "a preview failed, so nothing was deployed; fix it and run up again", 1);
                    }
                    const verb = operation === "destroy" ? "destroy every resource of" : operation;
                    const answer = await ask(context, `\nDo you want to ${verb} these ${targets.length} stack(s)? Type "yes" to confirm: `, progressStream);
                    if (answer !== "yes" && answer !== "y") {
                        return fail(context, "not confirmed, nothing was changed", answer === undefined && context.signal?.aborted ? 130 : 1, "");
                    }
                }
                await driver.prepare(operation, targets);
                const outcomes = await run(operation);
                if (args.json) {
                    print(context.stdout, JSON.stringify(summaryJson(operation, outcomes), null, 2));
                } else {
                    print(context.stdout, `\n${summaryTable(outcomes)}`);
                    if (operation === "outputs" || operation === "up") {
                        for (const o of outcomes.filter((x) => x.outputs))
                            print(context.stdout, `\n${o.stack} outputs:\n${JSON.stringify(o.outputs, null, 2)}`);
                    }
                }
                return exitCodeOf(outcomes);
            }),
    };
}

interface VerifyArgs extends CommonArgs {
    canary: boolean;
    "canary-image"?: string;
    "canary-sdk"?: CanarySdk;
    "canary-timeout"?: number;
    "canary-keep"?: boolean;
    concurrency: number;
}

function verifyCommand(context: CliContext): CommandModule<object, VerifyArgs> {
    return {
        command: "verify",
        describe: "Check each tenant of the deployed stacks against live AWS and Kubernetes (Pulumi CLI for the outputs); --canary runs a Job per tenant",
        builder: (y) =>
            backendOption(commonOptions(y))
                .option("canary", {
                    type: "boolean",
                    default: false,
                    describe: "Also run a short Job per tenant, as its service account, that calls sts get-caller-identity and lists its S3 prefixes",
                })
                .option("canary-image", {
                    type: "string",
                    requiresArg: true,
                    describe: "Image of the canary Job: your Ray image (python3 + boto3) or one with the AWS CLI (default: the AWS CLI's public image)",
                })
                // No defaults here: a --canary-* flag given without --canary is refused, so the handler must see which were given.
                .option("canary-sdk", {
                    choices: ["auto", "python", "cli"] as const,
                    describe: "Which SDK the canary uses in the image (default auto: boto3 if present, else the AWS CLI)",
                })
                .option("canary-timeout", {
                    type: "string",
                    coerce: wholeNumber("canary-timeout", 10, " of seconds"),
                    describe: "Seconds a canary Job may run, its activeDeadlineSeconds (default 180)",
                })
                .option("canary-keep", { type: "boolean", describe: "Keep canary Jobs for inspection (they still expire after 10 minutes)" })
                .option("concurrency", { type: "string", default: "4", coerce: wholeNumber("concurrency", 1), describe: "Canary Jobs at once" }) as any,
        handler: (args) =>
            guarded(context, async () => {
                const { runVerify } = await import("./verify/command");
                const canaryFlags = CANARY_FLAGS.filter((flag) => args[flag] !== undefined).map((flag) => `--${flag}`);
                if (!args.canary && canaryFlags.length > 0) {
                    throw new UsageError(
                        `${canaryFlags.join(", ")} ${canaryFlags.length === 1 ? "is an option" : "are options"} of --canary, which is not given: add --canary, or drop ${canaryFlags.length === 1 ? "it" : "them"}`,
                    );
                }
                const imageProblem =
                    args["canary-image"] !== undefined && (await import("../components/names")).imageReferenceProblem("--canary-image", args["canary-image"]);
                if (imageProblem) throw new UsageError(imageProblem);
                const { project, targets } = await targetsFor(args, context);
                if (project.mode === "own") {
                    throw new UsageError(
                        `verify checks the bundled program's tenants against their deployed outputs; ${project.dir} has its own program (Pulumi.yaml). ` +
                            "Run it from a directory of stack files, or check your own program's roles with the AWS CLI",
                    );
                }
                const { parseShardStack } = await import("./fleet");
                // Environment stacks that hold their tenants, and shard stacks (their outputs have the same shape).
                const selected = targets.filter((t) => (t.role === "environment" && !t.parsed?.tenantStacks) || parseShardStack(t.stack) !== undefined);
                if (selected.length === 0) throw new UsageError("verify runs on environment stacks and shard stacks (not with --per-tenant)");
                const { findings, failed } = await runVerify(await driverFor(context, project, args.backend), selected, {
                    ...context,
                    canary: args.canary
                        ? {
                              image: args["canary-image"],
                              sdk: args["canary-sdk"] ?? "auto",
                              timeoutSeconds: args["canary-timeout"] ?? 180,
                              keep: args["canary-keep"] ?? false,
                          }
                        : undefined,
                    concurrency: args.concurrency,
                });
                // An emptied shard has no tenant left to look at: that is no "verify passed".
                if (findings.length === 0)
                    throw new UsageError(
                        `verify checked nothing: ${selected.map((t) => t.stack).join(", ")} ${selected.length === 1 ? "has" : "have"} no tenants`,
                    );
                if (args.json) {
                    print(context.stdout, JSON.stringify({ findings, failed }, null, 2));
                } else {
                    for (const f of findings) {
                        print(
                            context.stdout,
                            `${f.ok ? "ok  " : "FAIL"} ${f.stack}/${f.tenant} ${f.check}: ${f.message}${f.fix ? `\n     fix: ${f.fix}` : ""}`,
                        );
                    }
                    print(context.stdout, failed === 0 ? "verify passed" : `verify failed: ${failed} check(s)`);
                }
                return failed === 0 ? 0 : 1;
            }),
    };
}

interface ExplainArgs extends CommonArgs {
    action?: string;
    resource?: string;
    "service-account"?: string;
    prefix?: string;
    "session-mode"?: "ReadOnly" | "ReadWrite";
    message?: string;
    live: boolean;
}

function explainCommand(context: CliContext): CommandModule<object, ExplainArgs> {
    return {
        command: "explain [action] [resource]",
        describe:
            "Why a tenant's pod is allowed or denied an S3 request (ACTION RESOURCE, or --message with S3's AccessDenied text), offline from what the stack creates",
        builder: (y) =>
            commonOptions(y)
                .positional("action", { type: "string", describe: "The request's action (s3:GetObject, s3:ListBucket, s3express:CreateSession)" })
                .positional("resource", { type: "string", describe: "An ARN, or s3://bucket/key" })
                .option("service-account", { type: "string", requiresArg: true, describe: "The pod's service account, when the tenant has several" })
                .option("prefix", { type: "string", requiresArg: true, describe: "The s3:prefix of a ListBucket" })
                .option("session-mode", { choices: ["ReadOnly", "ReadWrite"] as const, describe: "The s3express:SessionMode of a CreateSession" })
                .option("message", { type: "string", requiresArg: true, describe: "S3's AccessDenied text: explain the request it names" })
                .option("live", {
                    type: "boolean",
                    default: false,
                    describe:
                        "Read the deployed documents from AWS (the stack's outputs through the Pulumi CLI) and ask IAM's policy simulator the same question",
                }) as any,
        handler: (args) =>
            guarded(context, async () => {
                const { catalogRequest, explain, parseDenial, parsePyarrowDenial, tenantOfDenial, whereElse } = await import("./verify/explain");
                const { renderTargets } = await import("./offline");
                if (!args.stack || args.stack.length !== 1) throw new UsageError("explain needs one --stack: the stack that creates the tenant's role");
                // S3's own text names the role; pyarrow's names only the request, so the tenant must be given.
                const fromPyarrow = args.message !== undefined ? parsePyarrowDenial(args.message) : undefined;
                const denial = args.message !== undefined && !fromPyarrow ? parseDenial(args.message) : undefined;
                if (!denial && !fromPyarrow && (!args.action || !args.resource))
                    throw new UsageError("give ACTION and RESOURCE (explain s3:GetObject s3://bucket/key --tenant NS), or --message");
                if (!denial && !args.tenant?.length)
                    throw new UsageError(
                        fromPyarrow
                            ? "pyarrow's message names no role: give --tenant, the namespace of the pod that failed"
                            : "give --tenant: the namespace of the pod's service account",
                    );
                const request = {
                    action: denial?.action ?? fromPyarrow?.action ?? args.action!,
                    resource: denial?.resource ?? fromPyarrow?.resource ?? args.resource!,
                    prefix: args.prefix ?? fromPyarrow?.prefix,
                    sessionMode: args["session-mode"],
                };
                // A request no client could make is refused before the stack is evaluated.
                request.action = await catalogRequest(request);
                // Render the whole stack (the tenant's role may be shared), then ask about one tenant.
                const { project, targets } = await targetsFor({ ...args, tenant: undefined }, context);
                const [rendered] = await renderTargets(project, targets, { signal: context.signal });
                const who = denial ? tenantOfDenial(rendered, denial, args.tenant?.[0]) : { tenant: args.tenant![0], serviceAccount: args["service-account"] };
                const question = { tenant: who.tenant, serviceAccount: args["service-account"] ?? who.serviceAccount, ...request };
                let answer = explain(rendered, question);
                let simulator: import("./verify/explainLive").SimulatorAnswer | undefined;
                if (args.live) {
                    if (project.mode === "own")
                        throw new UsageError("--live reads the bundled program's outputs; for your own program's roles use the IAM policy simulator");
                    const { decide, offlineDocuments } = await import("./verify/explain");
                    const { liveDocuments, simulate } = await import("./verify/explainLive");
                    const { defaultVerifyClients } = await import("./verify/command");
                    const target = targets[0];
                    const driver = await driverFor(context, project, args.backend);
                    const { deployedTenants, prepareOutputs } = await import("./verify/deployed");
                    await prepareOutputs(driver, [target], "explain --live");
                    const deployed = (await deployedTenants(driver, target, context.signal ?? new AbortController().signal))[who.tenant];
                    if (!deployed?.roleArn)
                        throw new UsageError(
                            `stack ${target.stack} exports no role for tenant ${who.tenant}: run \`ray-s3-access up --stack ${target.stack}\` first`,
                        );
                    const region = target.config["aws:region"] ?? process.env.AWS_REGION ?? "us-west-2";
                    const clients = context.verifyClients ? context.verifyClients(region) : await defaultVerifyClients(region);
                    const documents = await liveDocuments(clients, deployed.assetsRoleArn ?? deployed.roleArn, offlineDocuments(rendered, question), question);
                    answer = decide(documents, question);
                    // The simulator takes no session policy: compare it with our answer for the role's documents alone.
                    const roleOnly = decide({ ...documents, limits: documents.limits.filter((d) => !d.name.startsWith("session policy")) }, question);
                    simulator = await simulate(clients.iam, documents, roleOnly);
                }
                const s3Said = answer.allowed ? whereElse(rendered.stack, answer, denial, fromPyarrow) : undefined;
                if (args.json)
                    print(
                        context.stdout,
                        JSON.stringify(
                            {
                                stack: rendered.stack,
                                tenant: who.tenant,
                                ...answer,
                                ...(simulator ? { simulator } : {}),
                                ...(s3Said ? { s3Said } : {}),
                                ...(fromPyarrow ? { pyarrow: fromPyarrow } : {}),
                            },
                            null,
                            2,
                        ),
                    );
                else {
                    if (fromPyarrow)
                        print(
                            context.stdout,
                            `pyarrow's ${fromPyarrow.operation} needs ${fromPyarrow.action}${fromPyarrow.prefix !== undefined ? ` with s3:prefix "${fromPyarrow.prefix}"` : ""}`,
                        );
                    print(context.stdout, `${answer.request.action} on ${answer.request.resource} as ${answer.request.principal} (tenant ${who.tenant})`);
                    for (const d of answer.documents) {
                        print(
                            context.stdout,
                            `  ${d.decision.padEnd(12)} ${d.document}${d.statements.length ? ` [${d.statements.join(", ")}]` : ""}${d.note ? ` (${d.note})` : ""}`,
                        );
                    }
                    print(context.stdout, answer.reason);
                    if (fromPyarrow?.note && answer.allowed) print(context.stdout, `note: ${fromPyarrow.note}`);
                    if (s3Said)
                        print(
                            context.stdout,
                            `but S3 denied it${s3Said.because ? ` (${s3Said.because})` : ""}${args.live ? "" : " and this stack's documents allow it"}: look at ${s3Said.hint}`,
                        );
                    if (simulator) {
                        print(
                            context.stdout,
                            simulator.decision === undefined
                                ? `IAM's policy simulator: ${simulator.note}`
                                : `IAM's policy simulator: ${simulator.decision}${simulator.agrees ? " (agrees)" : " (DISAGREES: report it; trust the simulator for deployment decisions)"}${simulator.note ? `; ${simulator.note}` : ""}`,
                        );
                    }
                }
                return answer.allowed ? 0 : 1;
            }),
    };
}

/** The fleet commands' `--stack`: environment stacks (their shards come from the fleet record). */
function environmentStacks<T>(y: Argv<T>) {
    return y.option("stack", {
        type: "string",
        array: true,
        requiresArg: true,
        describe: "Environment stack (repeatable); default: every Pulumi.STACK.yaml",
    });
}

interface FleetPlanArgs {
    stack?: string[];
    cwd: string;
    json: boolean;
    "shard-size"?: number;
    write: boolean;
    check: boolean;
}

function fleetPlanCommand(context: CliContext): CommandModule<object, FleetPlanArgs> {
    return {
        command: "plan",
        describe: "Split each environment's tenants into shard stacks (ENV.shard_NNN) and show, record (--write) or check (--check) the assignment",
        builder: (y) =>
            environmentStacks(y)
                .option("cwd", { type: "string", default: ".", requiresArg: true, describe: "The directory of your Pulumi.STACK.yaml files" })
                .option("json", { type: "boolean", default: false, describe: 'Print {"shards": [{"environment", "stack", "tenants"}]}' })
                .option("shard-size", {
                    type: "string",
                    requiresArg: true,
                    coerce: wholeNumber("shard-size", 1),
                    describe: "Tenants per shard at most (default 200, or the size recorded); new tenants only: nothing moves",
                })
                .option("write", {
                    type: "boolean",
                    default: false,
                    describe: "Record the plan in ray-s3-access.fleet.json (commit it next to the stack files)",
                })
                .option("check", { type: "boolean", default: false, describe: "Exit 1 when the recorded plan is not current (CI)" }) as any,
        handler: (args) =>
            guarded(context, async () => {
                const { FLEET_FILE, formatFleetRecord, planEnvironment, readFleetRecord } = await import("./fleet");
                const { loadProject } = await import("./project");
                const { environmentNames, environmentTenants } = await import("./stacks");
                if (args.write && args.check) throw new UsageError("--write records the plan and --check verifies the record: pick one");
                const project = loadProject(args.cwd);
                const previous = readFleetRecord(project.stackConfigDir);
                const record = { version: 1 as const, environments: { ...(previous?.environments ?? {}) } };
                const summary: string[] = [];
                const selected = environmentNames(project, args.stack);
                for (const environment of selected) {
                    const tenants = environmentTenants(project, environment);
                    const { plan, changes } = planEnvironment(environment, tenants, previous?.environments[environment], args["shard-size"]);
                    record.environments[environment] = plan;
                    const used = plan.shards.filter((s) => s.tenants.length > 0).length;
                    summary.push(
                        `${environment}: ${tenants.length} tenants in ${used} shard(s) of at most ${plan.shardSize}` +
                            (plan.shards.length > used ? ` (${plan.shards.length - used} emptied, kept until you destroy them)` : "") +
                            `; ${changes.added.length} to place, ${changes.removed.length} gone`,
                    );
                }
                const text = formatFleetRecord(record);
                const current = previous !== undefined && formatFleetRecord(previous) === text;
                if (args.json) {
                    const shards = Object.entries(record.environments)
                        .filter(([environment]) => selected.includes(environment))
                        .flatMap(([environment, plan]) => plan.shards.map((s) => ({ environment, stack: s.stack, tenants: s.tenants })));
                    print(context.stdout, JSON.stringify({ shards }, null, 2));
                } else {
                    print(context.stdout, summary.join("\n"));
                }
                const file = path.join(project.stackConfigDir, FLEET_FILE);
                if (args.write && !current) {
                    await writeWhole(file, text);
                    context.stderr.write(`wrote ${FLEET_FILE}: commit it next to the stack files (it keeps every tenant in its shard)\n`);
                } else if (!current) {
                    context.stderr.write(`${FLEET_FILE} is ${previous ? "not current" : "missing"}: run \`ray-s3-access fleet plan --write\` and commit it\n`);
                    if (args.check) return 1;
                }
                return 0;
            }),
    };
}

interface FleetEmitArgs {
    stack?: string[];
    cwd: string;
    engine: "pko" | "github-actions";
    out: string;
    repo?: string;
    branch: string;
    "repo-dir": string;
    namespace: string;
    backend?: string;
    "secrets-provider"?: string;
    org?: string;
    image: string;
    "service-account": string;
    "deployer-role-arn"?: string;
    "credentials-secret"?: string;
    "role-arn"?: string;
    region?: string;
    "max-parallel": number;
    name: string;
}

function fleetEmitCommand(context: CliContext): CommandModule<object, FleetEmitArgs> {
    return {
        command: "emit",
        describe: "Write what an engine applies for the recorded fleet: Pulumi Kubernetes Operator objects, or a GitHub Actions workflow",
        builder: (y) =>
            environmentStacks(y)
                .option("engine", {
                    choices: ["pko", "github-actions"] as const,
                    demandOption: true,
                    describe: "pko (Pulumi Kubernetes Operator v2) or github-actions",
                })
                .option("out", {
                    type: "string",
                    demandOption: true,
                    requiresArg: true,
                    describe: "Directory to write into (the files are replaced, byte-identical for the same input)",
                })
                .option("cwd", {
                    type: "string",
                    default: ".",
                    requiresArg: true,
                    describe: "The directory of your Pulumi.STACK.yaml files and ray-s3-access.fleet.json",
                })
                .option("repo", {
                    type: "string",
                    requiresArg: true,
                    describe: "pko: the git repository the workspaces clone (holds the stack files and a package.json pinning ray-s3-access)",
                })
                .option("branch", {
                    type: "string",
                    default: EMIT_DEFAULTS.branch,
                    requiresArg: true,
                    describe: "pko and github-actions: the branch to deploy",
                })
                .option("repo-dir", {
                    type: "string",
                    default: EMIT_DEFAULTS["repo-dir"],
                    requiresArg: true,
                    describe: "Where, in the repository, the stack files and package.json are",
                })
                .option("namespace", {
                    type: "string",
                    default: EMIT_DEFAULTS.namespace,
                    requiresArg: true,
                    describe: "pko: the namespace of the Stack objects",
                })
                .option("backend", { type: "string", requiresArg: true, describe: "pko: the Pulumi backend URL (s3://..., https://api.pulumi.com)" })
                .option("secrets-provider", { type: "string", requiresArg: true, describe: "pko: the secrets provider (default: the stack file's)" })
                .option("org", { type: "string", requiresArg: true, describe: "pko: a Pulumi Cloud organization (stacks become ORG/STACK)" })
                .option("image", {
                    type: "string",
                    default: EMIT_DEFAULTS.image,
                    requiresArg: true,
                    describe: "pko: the workspace image (Pulumi CLI >= 3.202 for structured config)",
                })
                .option("service-account", {
                    type: "string",
                    default: EMIT_DEFAULTS["service-account"],
                    requiresArg: true,
                    describe: "pko: the workspaces' ServiceAccount",
                })
                .option("deployer-role-arn", { type: "string", requiresArg: true, describe: "pko: the IAM role the workspaces use (IRSA annotation)" })
                .option("credentials-secret", {
                    type: "string",
                    requiresArg: true,
                    describe: "pko: a Secret with the backend's credential (key passphrase, or accessToken with --org)",
                })
                .option("role-arn", { type: "string", requiresArg: true, describe: "github-actions: the IAM role the jobs assume by OIDC" })
                .option("region", {
                    type: "string",
                    default: EMIT_DEFAULTS.region,
                    requiresArg: true,
                    describe: "github-actions: the AWS region of the credentials",
                })
                .option("max-parallel", {
                    type: "string",
                    default: EMIT_DEFAULTS["max-parallel"],
                    coerce: wholeNumber("max-parallel", 1),
                    describe: "github-actions: jobs of one matrix at once",
                })
                .option("name", { type: "string", default: EMIT_DEFAULTS.name, requiresArg: true, describe: "github-actions: the workflow's name" }) as any,
        handler: (args) =>
            guarded(context, async () => {
                const { emitOptionProblems, githubWorkflow, pkoObjects, sourceFiles } = await import("./engines");
                // The flags set to something else than their default: a default is no choice the user made.
                const given = new Set(Object.keys(args).filter((flag) => args[flag] !== undefined && String(args[flag]) !== EMIT_DEFAULTS[flag]));
                const problems = emitOptionProblems(args.engine, args, given);
                if (problems.length > 0)
                    throw new UsageError(`--engine ${args.engine} refuses these flags before writing anything:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
                const { readFleetRecord } = await import("./fleet");
                const { loadProject } = await import("./project");
                const { environmentNames, fleetEnvironment } = await import("./stacks");
                const project = loadProject(args.cwd);
                const record = readFleetRecord(project.stackConfigDir);
                const environments = environmentNames(project, args.stack).map((name) => fleetEnvironment(project, name, record));
                let files;
                if (args.engine === "pko") {
                    if (!args.repo) throw new UsageError("--engine pko needs --repo URL: the git repository the operator's workspaces clone");
                    files = pkoObjects(environments, {
                        namespace: args.namespace,
                        repo: args.repo,
                        branch: args.branch,
                        repoDir: args["repo-dir"],
                        backend: args.backend,
                        secretsProvider: args["secrets-provider"],
                        org: args.org,
                        image: args.image,
                        serviceAccount: args["service-account"],
                        deployerRoleArn: args["deployer-role-arn"],
                        credentialsSecret: args["credentials-secret"],
                    });
                    const { packageVersion } = await import("./project");
                    files.push(...sourceFiles(packageVersion()));
                } else {
                    if (!args["role-arn"])
                        throw new UsageError("--engine github-actions needs --role-arn ARN: the IAM role the jobs assume through GitHub's OIDC provider");
                    files = [
                        githubWorkflow(
                            record!,
                            environments.map((e) => e.name),
                            {
                                name: args.name,
                                repoDir: args["repo-dir"],
                                roleArn: args["role-arn"],
                                region: args.region ?? "us-west-2",
                                maxParallel: args["max-parallel"],
                                branch: args.branch,
                            },
                        ),
                    ];
                }
                const { writeFileSet } = await import("./files");
                // Only a run over every environment knows which files are stale.
                const removed = writeFileSet(args.out, args.engine, files, !args.stack?.length);
                context.stderr.write(`wrote ${files.map((f) => f.path).join(", ")} under ${args.out}\n`);
                if (removed.length > 0)
                    context.stderr.write(
                        `removed ${removed.join(", ")}: the last emit wrote them, and this one does not (their environment or name is gone)\n`,
                    );
                if (args.engine === "pko") {
                    context.stderr.write(
                        `commit source/Pulumi.yaml and source/package.json (then its package-lock.json) in ${args["repo-dir"]} of ${args.repo}, next to the stack files; ` +
                            "gate the objects with `ray-s3-access check --shards` in CI before a GitOps tool applies them (the operator runs no policy pack)\n",
                    );
                }
                return 0;
            }),
    };
}

/** The options of `verify --canary`. */
const CANARY_FLAGS = ["canary-image", "canary-sdk", "canary-timeout", "canary-keep"] as const;

/** `fleet emit`'s defaults (the image is engines.ts DEFAULT_WORKSPACE_IMAGE, kept here so --help loads no module). */
const EMIT_DEFAULTS: Record<string, string> = {
    branch: "main",
    "repo-dir": ".",
    namespace: "pulumi-kubernetes-operator",
    image: "pulumi/pulumi:3.202.0-nonroot",
    "service-account": "ray-s3-access-deployer",
    region: "us-west-2",
    "max-parallel": "8",
    name: "ray-s3-access fleet",
};

function fleetCommand(context: CliContext): CommandModule<object, object> {
    return {
        command: "fleet <command>",
        describe: "Shard environments into stacks and hand them to the engines you run (plan, emit)",
        builder: (y) => y.command(fleetPlanCommand(context)).command(fleetEmitCommand(context)).demandCommand(1, "give a fleet command: plan or emit") as any,
        handler: () => undefined,
    };
}

/** "Unknown argument: stak" becomes "... did you mean --stack?" against the command's own options. */
function withSuggestion(message: string, usage: unknown): string {
    const match = /^Unknown arguments?: (.+)$/.exec(message);
    const described = (usage as { getDescriptions?: () => Record<string, unknown> })?.getDescriptions?.();
    if (!match || !described) return message;
    const names = Object.keys(described).filter((k) => k.length > 1);
    const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const given = match[1].split(", ");
    // yargs lists "polcy-pack" and its camel-case twin "polcyPack"; name each mistake once.
    const unknown = given.filter((name) => name === kebab(name) || !given.includes(kebab(name)));
    const hints = unknown.map((name) => {
        const best = nearestName(name, names);
        return `unknown option --${name}${best !== undefined ? `: did you mean --${best}?` : ""}`;
    });
    return `${hints.join("; ")} (see --help)`;
}

/** The parser, with every command bound to `context`. */
export function buildParser(context: CliContext): Argv {
    return yargs()
        .scriptName("ray-s3-access")
        .usage("$0 <command> [options]\n\nLeast-privilege S3 for EKS pods: render, check and deploy RayS3Access stacks.")
        .command(renderCommand(context))
        .command(checkCommand(context))
        .command(deployCommand(context, "preview", "Preview stacks with the policy pack (Pulumi CLI)"))
        .command(deployCommand(context, "up", "Deploy stacks with the policy pack (Pulumi CLI); previews and asks first"))
        .command(deployCommand(context, "destroy", "Destroy stacks, tenants before their environment (Pulumi CLI); asks first"))
        .command(deployCommand(context, "refresh", "Refresh stacks' state from the cloud (Pulumi CLI); asks first"))
        .command(deployCommand(context, "outputs", "Print stacks' outputs (Pulumi CLI)"))
        .command(verifyCommand(context))
        .command(explainCommand(context))
        .command(fleetCommand(context))
        .demandCommand(1, "give a command: render, check, preview, up, destroy, refresh, outputs, verify, explain or fleet")
        .recommendCommands()
        .strict()
        .help()
        .version(packageVersion())
        .wrap(Math.min(120, process.stdout.columns ?? 100))
        .exitProcess(false)
        .fail((message, error, parser) => {
            if (error && !(error instanceof UsageError) && error.name !== "YError") throw error;
            throw new UsageError(withSuggestion(message ?? error?.message ?? "invalid arguments", parser));
        });
}

/** The commands, for naming the one that was run in messages. */
const COMMANDS = ["render", "check", "preview", "up", "destroy", "refresh", "outputs", "verify", "explain", "fleet"];

/** Runs the CLI on `argv` and returns the exit code. */
export async function main(argv: string[], context: Omit<CliContext, "exitCode">): Promise<number> {
    // No arguments: the help, as a newcomer expects (exit 0).
    if (argv.length === 0) argv = ["--help"];
    const positional = argv.filter((a) => !a.startsWith("-"));
    const command = COMMANDS.includes(positional[0]) ? (positional[0] === "fleet" && positional[1] ? `fleet ${positional[1]}` : positional[0]) : undefined;
    const ctx: CliContext = { ...context, exitCode: 0, command, json: argv.includes("--json") };
    try {
        await buildParser(ctx).parseAsync(argv, {}, (error, _argv, output) => {
            // yargs hands --help, --version and usage text here instead of printing it itself.
            if (output) print(error ? ctx.stderr : ctx.stdout, output);
        });
    } catch (error) {
        return fail(ctx, (error as Error).message, isConfigError(error) ? 2 : 1, "error: ", problemsOf(error));
    }
    return ctx.exitCode;
}

if (require.main === module) {
    const controller = new AbortController();
    let interrupts = 0;
    // SIGTERM (a CI runner's cancel, `kill`, Kubernetes) cleans up as Ctrl-C does.
    const onSignal = () => {
        interrupts++;
        if (interrupts === 1) {
            process.stderr.write("\ncancelling (running updates stop and release their locks); Ctrl-C again to quit at once\n");
            controller.abort();
        } else {
            process.exit(130);
        }
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, signal: controller.signal }).then((code) => {
        // A cancelled or timed-out evaluation leaves the program's work behind it: do not wait for it.
        if (code === 130 || abandonedWork() > 0) process.exit(code);
        process.exitCode = code;
    });
}
